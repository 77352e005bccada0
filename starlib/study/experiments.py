"""One trained variant, evaluated and compared: what the training notebooks (02-06) run.

``report_objective`` trains (or reuses) a variant under a profile, scores it on Middlebury and UCF101 next
to bicubic + frame averaging on the same items (paired differences with 95% intervals), puts the paper's
reported value beside ours where the paper has one, and writes a per-item CSV, a summary CSV and figures.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from starlib.evaluation.baselines import bicubic_and_average
from starlib.data import load_window, middlebury_other, ucf101_dvf
from starlib.data.sources import Window
from starlib.evaluation.scoring import evaluate, ground_truth, mean_ci95
from starlib.infer.tiling import STARMethod
from starlib.study.figures import stamp
from starlib.study.profile import Profile
from starlib.util.atomic import atomic_write_text
from starlib.util.paths import REPO_ROOT
from starlib.util.provenance import provenance, write_results_csv
from starlib.study.recipes import flow_cache, train_model
from starlib.paper.reference import paper_results
from starlib.train import RunResult

#: Outputs each objective is trained for (and therefore scored on).
OBJECTIVE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "STAR": ("sr_t", "sr_mid", "sr_t1", "lr_mid"),
    "STAR-ST": ("sr_t", "sr_mid", "sr_t1"),
    "STAR-S": ("sr_t", "sr_t1"),
    "STAR-T_LR": ("lr_mid",),
    "STAR-T_HR": ("hr_mid",),
}

#: (objective, dataset, output) -> (paper table, paper row) for the rows the paper reports on our test sets.
PAPER_ROWS: dict[tuple[str, str, str], tuple[int, str]] = {
    ("STAR-ST", "ucf101", "sr_t"): (8, "STAR-ST"),
    ("STAR-ST", "ucf101", "sr_mid"): (7, "STAR-ST-L_r"),
    ("STAR-ST", "middlebury", "sr_mid"): (7, "STAR-ST-L_r"),
    ("STAR-S", "ucf101", "sr_t"): (8, "STAR-S"),
    ("STAR-T_HR", "ucf101", "hr_mid"): (9, "STAR-T_HR"),
    ("STAR-T_HR", "middlebury", "hr_mid"): (9, "STAR-T_HR"),
}
#: Our metric name for each paper metric name (Table 9's STAR IE is what inter_error.m computes).
PAPER_METRIC = {"psnr": "psnr", "ssim": "ssim", "niqe": "niqe", "ie": "ie_starnet"}


def test_benchmarks(profile: Profile) -> dict[str, list[Window]]:
    limit = profile.sections["data"]["max_test_items"]
    cut = (lambda w: w[:limit]) if limit else (lambda w: w)
    return {"middlebury": cut(middlebury_other()), "ucf101": cut(ucf101_dvf())}


def baseline_scores(windows: list[Window], dataset: str, outputs: tuple[str, ...], niqe: bool,
                    cache_file: Path | None) -> pd.DataFrame:
    """Scores of bicubic + frame averaging, memoised in ``cache_file`` (they never change for an item)."""
    known = pd.read_csv(cache_file, dtype={"item": str}) if cache_file and cache_file.is_file() else pd.DataFrame()
    want = {(dataset, w.name, o) for w in windows for o in outputs}
    have = set(map(tuple, known[["dataset", "item", "output"]].values)) if len(known) else set()
    if niqe and len(known) and "niqe" not in known.columns:
        have = set()
    missing_windows = [w for w in windows if any((dataset, w.name, o) not in have for o in outputs)]
    if missing_windows:
        fresh = evaluate(bicubic_and_average, missing_windows, dataset, ("sr_t", "sr_mid", "sr_t1", "lr_mid", "hr_mid"),
                         niqe=niqe, progress=False)
        known = pd.concat([known, fresh], ignore_index=True).drop_duplicates(["dataset", "item", "output"], keep="last")
        if cache_file:
            atomic_write_text(cache_file, known.to_csv(index=False))
    keys = pd.DataFrame(sorted(want), columns=["dataset", "item", "output"])
    return keys.merge(known, on=["dataset", "item", "output"], how="left")


def paired_summary(ours: pd.DataFrame, base: pd.DataFrame, objective: str) -> pd.DataFrame:
    """Per (dataset, output, metric): our mean and CI, the baseline's mean, the paired difference and CI,
    and the paper's reported value for this objective where there is one."""
    keys = ["dataset", "item", "output"]
    merged = ours.merge(base, on=keys, suffixes=("", "_baseline"))
    paper = paper_results()
    rows = []
    metrics = [c for c in ours.columns if c not in keys + ["seconds"] and ours[c].dtype.kind == "f"]
    for (dataset, output), group in merged.groupby(["dataset", "output"], sort=False):
        for metric in metrics:
            g = group[[metric, f"{metric}_baseline"]].dropna()
            if g.empty:
                continue
            mean, lo, hi = mean_ci95(g[metric].to_numpy())
            diff = g[metric].to_numpy() - g[f"{metric}_baseline"].to_numpy()
            dmean, dlo, dhi = mean_ci95(diff)
            reported = np.nan
            where = PAPER_ROWS.get((objective, dataset, output))
            if where:
                hit = paper[(paper.table == where[0]) & (paper.method == where[1]) & (paper.dataset == dataset)
                            & (paper.output == output) & (paper.metric.map(PAPER_METRIC) == metric)]
                reported = float(hit.value.iloc[0]) if len(hit) else np.nan
            rows.append({"method": objective, "dataset": dataset, "output": output, "metric": metric,
                         "mean": mean, "ci95_low": lo, "ci95_high": hi,
                         "baseline_mean": float(g[f"{metric}_baseline"].mean()),
                         "gain_vs_baseline": dmean, "gain_ci95_low": dlo, "gain_ci95_high": dhi,
                         "paper_reported": reported, "paper_table": where[0] if where else np.nan,
                         "ours_minus_paper": mean - reported, "n": len(g)})
    return pd.DataFrame(rows)


def loss_curve(log: list[dict], title: str) -> plt.Figure:
    """Training losses (log scale) against steps, with the learning rate on a second axis."""
    frame = pd.DataFrame(log).apply(pd.to_numeric, errors="coerce")
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for col in [c for c in frame.columns if c.startswith(("l1_", "vgg_", "flow", "total"))]:
        ax.plot(frame["step"], frame[col], label=col, lw=2.0 if col == "total" else 1.0)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax2 = ax.twinx()
    ax2.plot(frame["step"], frame["lr"], color="gray", ls=":", lw=1)
    ax2.set_yscale("log")
    ax2.set_ylabel("learning rate", color="gray")
    fig.tight_layout()
    return fig


def comparison_figure(method: Any, window: Window, output: str, scale: int = 4, crop: int = 96) -> plt.Figure:
    """Ground truth, bicubic + averaging and ours on one sample: full frame, a zoomed crop where the
    baseline errs most, and absolute-error maps."""
    stack = load_window(window, scale)
    gt = ground_truth(stack, output)
    base = bicubic_and_average(stack, scale)[output]
    ours = method(stack)[output]
    err_b = np.abs(base.astype(float) - gt).mean(-1)
    k = min(crop, *gt.shape[:2])
    pooled = np.lib.stride_tricks.sliding_window_view(err_b, (k, k))[::8, ::8].mean((-1, -2))
    y, x = np.unravel_index(np.argmax(pooled), pooled.shape)
    y, x = 8 * y, 8 * x
    panels = [("ground truth", gt), ("bicubic + averaging", base), ("ours", ours)]
    fig, axes = plt.subplots(2, 4, figsize=(11, 5.2))
    for i, (name, img) in enumerate(panels):
        axes[0, i].imshow(img)
        axes[0, i].add_patch(plt.Rectangle((x, y), k, k, fill=False, ec="yellow", lw=1))
        axes[0, i].set_title(name, fontsize=9)
        axes[1, i].imshow(img[y:y + k, x:x + k], interpolation="nearest")
    vmax = max(err_b.max(), 1)
    axes[0, 3].imshow(err_b, cmap="magma", vmin=0, vmax=vmax)
    axes[0, 3].set_title("|error| bicubic + avg.", fontsize=9)
    axes[1, 3].imshow(np.abs(ours.astype(float) - gt).mean(-1), cmap="magma", vmin=0, vmax=vmax)
    axes[1, 3].set_title("|error| ours", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


@dataclass
class Report:
    run: RunResult
    per_item: pd.DataFrame
    summary: pd.DataFrame
    method: STARMethod


def report_objective(profile: Profile, objective: str, name: str, results_dir: str | Path, figures_dir: str | Path,
                     variant: dict[str, Any] | None = None, seed: int | None = None, runs_dir: str | Path | None = None,
                     cache_dir: str | Path | None = None, niqe: bool = True, progress: bool = True) -> Report:
    """Train or reuse ``objective`` (network: profile + ``variant``), evaluate, write
    ``<results_dir>/<profile>/<name>.csv`` (per item), ``<name>_summary.csv`` and
    ``<figures_dir>/<profile>/<name>_loss.png``."""
    overrides = {"seed": seed} if seed is not None else {}
    run = train_model(profile, objective, variant, runs_dir=runs_dir, cache_dir=cache_dir, progress=progress,
                      **overrides)
    cache = flow_cache(profile, cache_dir)
    ev = profile.sections.get("eval", {})
    inputs = "hr" if objective == "STAR-T_HR" else "lr"
    method = STARMethod(run.model, cache, inputs=inputs, tile=ev.get("tile_hr" if inputs == "hr" else "tile_lr", 0))
    outputs = OBJECTIVE_OUTPUTS[objective]
    start = time.perf_counter()
    ours, base = [], []
    for dataset, windows in test_benchmarks(profile).items():
        if inputs == "hr":
            if dataset not in ev.get("hr_input_benchmarks", [dataset]):
                continue
            if ev.get("max_items_hr_inputs", 0):
                windows = windows[: ev["max_items_hr_inputs"]]
        ours.append(evaluate(method, windows, dataset, outputs, niqe=niqe, progress=progress, desc=f"{name} {dataset}"))
        scores_file = Path(cache_dir or REPO_ROOT / "cache" / "flows").parent / "scores" / f"bicubic_average_s{profile.model.scale}.csv"
        base.append(baseline_scores(windows, dataset, outputs, niqe, scores_file))
    per_item = pd.concat(ours, ignore_index=True)
    summary = paired_summary(per_item, pd.concat(base, ignore_index=True), objective)
    n_items = per_item.groupby("dataset")["item"].nunique().sum()
    config = run_config(run)
    prov = provenance(profile.name, int(config["train"]["seed"]), "middlebury+ucf101 (test); train: " + config["data"],
                      int(n_items),
                      run.wall_time_s + time.perf_counter() - start)
    out_dir = Path(results_dir) / profile.name
    write_results_csv(per_item.assign(method=name).to_dict("records"), out_dir / f"{name}.csv", prov)
    summary["method"] = name
    write_results_csv(summary.to_dict("records"), out_dir / f"{name}_summary.csv",
                      {**prov, "train_wall_time_s": round(run.wall_time_s, 1), "run": run.run_dir.name})
    fig_dir = Path(figures_dir) / profile.name
    fig_dir.mkdir(parents=True, exist_ok=True)
    fig = loss_curve(run.log, f"{name} ({profile.name} profile): training losses")
    stamp(fig, f"profile={profile.name} run={run.run_dir.name} commit={prov['git_commit']}")
    fig.savefig(fig_dir / f"{name}_loss.png", dpi=110)
    plt.close(fig)
    return Report(run, per_item, summary, method)


def run_config(run: RunResult) -> dict[str, Any]:
    """The ``config.json`` a training run wrote (model, train, data, git_commit)."""
    return json.loads((run.run_dir / "config.json").read_text())
