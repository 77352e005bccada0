"""The paper's Tables 1-10 regenerated: per-item scores, table rows with confidence intervals, paper values.

A table is a list of :class:`Entry` (one method: its per-item scores, or the reason it was not run). For each
(method, dataset, output, metric) :func:`table_rows` gives our mean and 95% interval over test items, the
paired difference to the table's reference row with its interval, the paper's reported value for the
matching paper row (on the same data set where the paper has it, else on the data set it used, named in
``paper_dataset``), the paper's own difference to its reference row, and ``ours - paper`` (only when the
data sets match: differences across data sets mean nothing).

:func:`cached_scores` memoises per-item scores under ``cache/scores/`` keyed by the method's identity (a
training run's folder name, a baseline's name), so tables share evaluations and re-runs are cheap.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from starlib.data.sources import Window
from starlib.evaluation.scoring import Method, evaluate, mean_ci95
from starlib.util.atomic import atomic_write_text
from starlib.util.paths import REPO_ROOT
from starlib.util.provenance import write_results_csv
from starlib.paper.reference import paper_results

KEYS = ["dataset", "item", "output"]
LOWER_IS_BETTER = {"niqe", "ie_mae", "ie_rms", "ie_starnet"}
#: Metrics shown in tables.md per table (the paper's columns); the CSVs keep every metric.
SHOWN_METRICS: dict[int, tuple[str, ...]] = {3: ("psnr", "ssim", "niqe"), 7: ("psnr", "ssim", "niqe"),
                                             9: ("psnr", "ssim", "ie_starnet", "ie_mae")}
TITLES = {
    1: "Table 1. Basic components (STAR objective)",
    2: "Table 2. Training objectives",
    3: "Table 3. Loss functions L_f vs L_r (STAR-ST)",
    4: "Table 4. S-SR module: DBPN vs RBPN as Net_S (STAR-ST)",
    5: "Table 5. 4x T-SR: (1) STAR-ST(2x) -> STAR-ST(2x) vs (2) STAR-ST(4x) -> STAR-T_HR",
    6: "Table 6. T-SR paths on S-HR and S-LR (STAR-ST)",
    7: "Table 7. ST-SR (I_{t+}^sr)",
    8: "Table 8. S-SR (I_t^sr)",
    9: "Table 9. T-SR at the original resolution",
    10: "Table 10. T-SR on S-LR frames (I_{t+}^l)",
}
OUTPUT_NAMES = {"sr_t": "I_t^sr", "sr_mid": "I_t+^sr", "sr_t1": "I_t+1^sr", "lr_mid": "I_t+^l", "hr_mid": "HR mid"}


@dataclass
class Entry:
    """One row group of a table: a method and its per-item scores (``None`` when not run)."""

    label: str
    per_item: pd.DataFrame | None
    paper_method: str | None = None     # the paper's row this one corresponds to (same table)
    note: str = ""                      # e.g. "flow interpolation stands in for DAIN"
    status: str = "run"                 # "run", or "not run: <reason>"
    outputs: tuple[str, ...] = ()       # for rows not run: the outputs the paper reports
    info: dict[str, Any] = field(default_factory=dict)   # parameters, run folder, training time


def score_key(name: str) -> str:
    """A file-name-safe cache key."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


def cached_scores(method: Method, key: str, windows: Sequence[Window], dataset: str, outputs: Sequence[str],
                  niqe: bool = False, cache_dir: str | Path | None = None, scale: int = 4, progress: bool = True,
                  desc: str | None = None) -> pd.DataFrame:
    """Per-item scores of ``method`` on ``windows`` (every full-reference metric; NIQE when asked), computed
    only for the (item, output) pairs not yet in ``<cache_dir>/scores/<key>.csv`` (scores of an item never
    change for a fixed method, so ``key`` must name the method exactly: e.g. a run folder + input mode)."""
    path = Path(cache_dir or REPO_ROOT / "cache") / "scores" / f"{score_key(key)}.csv"
    known = pd.read_csv(path, dtype={"item": str}) if path.is_file() else pd.DataFrame(columns=KEYS)
    have = set(map(tuple, known[KEYS].values)) if len(known) else set()
    if niqe:   # rows scored without NIQE do not answer a NIQE request
        done = known["niqe_scored"].fillna(0).astype(bool) if "niqe_scored" in known.columns else []
        have = set(map(tuple, known.loc[done, KEYS].values)) if len(known) and "niqe_scored" in known.columns else set()
    todo = [w for w in windows if any((dataset, w.name, o) not in have for o in outputs)]
    if todo:
        fresh = evaluate(method, todo, dataset, outputs, niqe=niqe, scale=scale, progress=progress,
                         desc=desc or f"{key} {dataset}").assign(niqe_scored=float(niqe))
        known = pd.concat([known, fresh], ignore_index=True).drop_duplicates(KEYS, keep="last")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, known.to_csv(index=False))
    want = pd.DataFrame([(dataset, w.name, o) for w in windows for o in outputs], columns=KEYS).astype(str)
    return want.merge(known.astype({k: str for k in KEYS}), on=KEYS, how="left")


def _metric_columns(frame: pd.DataFrame) -> list[str]:
    skip = set(KEYS) | {"seconds", "method", "niqe_scored"}
    return [c for c in frame.columns if c not in skip and frame[c].dtype.kind == "f"]


def _paper_value(paper: pd.DataFrame, table: int, method: str | None, dataset: str, output: str,
                 metric: str) -> tuple[float, str]:
    if not method:
        return np.nan, ""
    metric = {"ie_starnet": "ie"}.get(metric, metric)
    hit = paper[(paper.table == table) & (paper.method == method) & (paper.output == output) & (paper.metric == metric)]
    if hit.empty:
        return np.nan, ""
    same = hit[hit.dataset == dataset]
    row = same.iloc[0] if len(same) else hit.iloc[0]
    return float(row.value), str(row.dataset)


def table_rows(table: int, entries: Sequence[Entry], reference: str | None = None) -> pd.DataFrame:
    """Summary rows of one table (see the module docstring); ``reference`` is the label of the row that
    differences are taken against (paired over the items both rows scored)."""
    paper = paper_results()
    labels = [e.label for e in entries]
    if reference is not None and reference not in labels:
        raise ValueError(f"reference row {reference!r} is not among the table's rows {labels}")
    ref = next((e for e in entries if e.label == reference), None)
    rows = []
    for e in entries:
        base = {"table": table, "method": e.label, "paper_method": e.paper_method or "", "status": e.status,
                "note": e.note, **{f"info_{k}": v for k, v in e.info.items()}}
        if e.per_item is None:      # not run here: one row per data set the paper reports it on
            hits = paper[(paper.table == table) & (paper.method == (e.paper_method or ""))]
            for output in e.outputs:
                for pdata in (sorted(set(hits[hits.output == output].dataset)) or [""]):
                    for metric in ("psnr", "ssim"):
                        value, _ = _paper_value(paper, table, e.paper_method, pdata, output, metric)
                        rows.append({**base, "dataset": "", "output": output, "metric": metric, "n": 0,
                                     "paper_reported": value, "paper_dataset": pdata})
            continue
        for (dataset, output), g in e.per_item.groupby(["dataset", "output"], sort=False):
            for metric in _metric_columns(e.per_item):
                vals = g[["item", metric]].dropna()
                if vals.empty:
                    continue
                mean, lo, hi = mean_ci95(vals[metric].to_numpy())
                row = {**base, "dataset": dataset, "output": output, "metric": metric, "mean": mean,
                       "ci95_low": lo, "ci95_high": hi, "n": len(vals)}
                if ref is not None and ref.per_item is not None and e is not ref:
                    r = ref.per_item[(ref.per_item.dataset == dataset) & (ref.per_item.output == output)]
                    if metric in r.columns:
                        paired = vals.merge(r[["item", metric]].dropna(), on="item", suffixes=("", "_ref"))
                        if len(paired):
                            d, dlo, dhi = mean_ci95((paired[metric] - paired[f"{metric}_ref"]).to_numpy())
                            row.update(reference_method=ref.label, delta_vs_reference=d, delta_ci95_low=dlo,
                                       delta_ci95_high=dhi, n_paired=len(paired))
                value, pdata = _paper_value(paper, table, e.paper_method, dataset, output, metric)
                row.update(paper_reported=value, paper_dataset=pdata,
                           ours_minus_paper=mean - value if pdata == dataset else np.nan)
                if ref is not None and e is not ref and ref.paper_method:
                    ref_value, ref_data = _paper_value(paper, table, ref.paper_method, dataset, output, metric)
                    if ref_data == pdata:
                        row["paper_delta_vs_reference"] = value - ref_value
                rows.append(row)
    columns = ["table", "method", "dataset", "output", "metric", "mean", "ci95_low", "ci95_high", "n",
               "reference_method", "delta_vs_reference", "delta_ci95_low", "delta_ci95_high", "n_paired",
               "paper_method", "paper_dataset", "paper_reported", "paper_delta_vs_reference", "ours_minus_paper",
               "status", "note"]
    frame = pd.DataFrame(rows)
    for c in columns:
        if c not in frame.columns:
            frame[c] = np.nan
    return frame[columns + [c for c in frame.columns if c not in columns]]


def write_table(table: int, entries: Sequence[Entry], out_dir: str | Path, prov: dict[str, Any],
                reference: str | None = None) -> pd.DataFrame:
    """Write ``table<N>.csv`` (summary rows, see :func:`table_rows`) and ``table<N>_items.csv`` (every
    per-item score, for the claims) under ``out_dir``, both with provenance; returns the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = table_rows(table, entries, reference)
    items = [e.per_item.assign(method=e.label) for e in entries if e.per_item is not None]
    per_item = pd.concat(items, ignore_index=True) if items else pd.DataFrame(columns=["method"] + KEYS)
    n_items = int(per_item.groupby("dataset")["item"].nunique().sum()) if len(per_item) else 0
    prov = {**prov, "n_items": n_items}
    per_item = per_item[["method"] + [c for c in per_item.columns if c != "method"]]
    write_results_csv(per_item.to_dict("records"), out_dir / f"table{table}_items.csv", prov)
    write_results_csv(summary.to_dict("records"), out_dir / f"table{table}.csv", prov)
    return summary


class Stopwatch:
    """Wall time since construction, for provenance."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start


# --- rendering ---------------------------------------------------------------------------------------

def _cell(row: pd.Series, digits: int) -> str:
    if pd.isna(row.get("mean")):
        return "-"
    half = (row["ci95_high"] - row["ci95_low"]) / 2 if pd.notna(row["ci95_high"]) else np.nan
    return f"{row['mean']:.{digits}f}" + (f" ± {half:.{digits}f}" if pd.notna(half) else "")


def _digits(metric: str) -> int:
    return 3 if metric in ("ssim", "ssim_y", "ssim_wang") else 2


def _row_groups(summary: pd.DataFrame):
    """(method, data set, output) groups of a summary; rows not run are grouped by the paper's data set."""
    summary = summary.assign(dataset=summary["dataset"].fillna(""), paper_dataset=summary["paper_dataset"].fillna(""))
    shown = summary["dataset"].where(summary["status"] == "run", summary["paper_dataset"])
    summary = summary.assign(shown=shown)
    for (method, dataset, output), g in summary.groupby(["method", "shown", "output"], sort=False):
        yield (method, dataset, output), g


def render_markdown(summary: pd.DataFrame, table: int) -> str:
    """One Markdown table: a line per (method, dataset, output) with the shown metrics (mean ± 95% CI
    half-width), the paired PSNR difference to the reference row, and the paper's values."""
    metrics = SHOWN_METRICS.get(table, ("psnr", "ssim"))
    head = ["method", "data", "output"] + [m.upper() for m in metrics] + ["Δ PSNR vs ref [95% CI]",
                                                                           "paper PSNR", "paper SSIM",
                                                                           "paper data", "paper Δ PSNR"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (method, dataset, output), g in _row_groups(summary):
        by = {m: g[g.metric == m].iloc[0] for m in set(g.metric)}
        p = by.get("psnr")
        if p is not None and str(p["status"]) != "run":
            cells = [str(p["status"])] + [""] * (len(metrics) - 1) + [""]
        else:
            cells = [_cell(by[m], _digits(m)) if m in by else "-" for m in metrics]
            if p is not None and pd.notna(p.get("delta_vs_reference")):
                ci = (f" [{p['delta_ci95_low']:+.2f}, {p['delta_ci95_high']:+.2f}]"
                      if pd.notna(p["delta_ci95_low"]) else "")
                cells.append(f"{p['delta_vs_reference']:+.2f}{ci}")
            else:
                cells.append("ref" if p is not None and method == p.get("reference_method") else "")
        s = by.get("ssim")
        paper = [f"{p['paper_reported']:.3f}" if p is not None and pd.notna(p["paper_reported"]) else "",
                 f"{s['paper_reported']:.3f}" if s is not None and pd.notna(s["paper_reported"]) else "",
                 str(p["paper_dataset"]) if p is not None and pd.notna(p["paper_dataset"]) else "",
                 f"{p['paper_delta_vs_reference']:+.2f}" if p is not None and pd.notna(p.get("paper_delta_vs_reference")) else ""]
        label = method + (f" ({p['paper_method']})" if p is not None and p["paper_method"] and p["paper_method"] != method else "")
        ran = p is None or str(p["status"]) == "run"
        lines.append("| " + " | ".join([label, str(dataset or "-") if ran else "-", OUTPUT_NAMES.get(output, output)] + cells + paper) + " |")
    return "\n".join(lines)


def render_latex(summary: pd.DataFrame, table: int) -> str:
    """A booktabs tabular with PSNR / SSIM (mean and CI half-width) and the paper's PSNR."""
    esc = lambda s: str(s).replace("_", r"\_").replace("->", r"$\rightarrow$").replace("%", r"\%")  # noqa: E731
    lines = [r"\begin{tabular}{lllccc}", r"\toprule",
             r"Method & Data & Output & PSNR & SSIM & Paper PSNR \\", r"\midrule"]
    for (method, dataset, output), g in _row_groups(summary):
        by = {m: g[g.metric == m].iloc[0] for m in set(g.metric)}
        cell = lambda m: _cell(by[m], _digits(m)).replace("±", r"$\pm$") if m in by else "--"  # noqa: E731
        p = by.get("psnr")
        paper = f"{p['paper_reported']:.3f} ({p['paper_dataset']})" if p is not None and pd.notna(p["paper_reported"]) else "--"
        lines.append(" & ".join([esc(method), esc(dataset or "--"), esc(OUTPUT_NAMES.get(output, output)),
                                 cell("psnr"), cell("ssim"), esc(paper)]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)


def render_all(results_dir: str | Path) -> tuple[str, str]:
    """``tables.md`` and ``tables.tex`` text for every ``table<N>.csv`` in ``results_dir``."""
    results_dir = Path(results_dir)
    md, tex = [], []
    found = sorted((int(m.group(1)), p) for p in results_dir.glob("table*.csv")
                   if (m := re.fullmatch(r"table(\d+)\.csv", p.name)))
    for table, path in found:
        summary = pd.read_csv(path, keep_default_na=True)
        summary["paper_method"] = summary["paper_method"].fillna("")
        prov = summary.iloc[0]
        where = (f"profile `{prov['profile']}`, commit `{prov['git_commit']}`, seed {prov['seed']}, "
                 f"{prov['n_items']} test items ({prov['data']}), created {prov['created_utc']}")
        md.append(f"## {TITLES.get(table, f'Table {table}')}\n\n{where}\n\n{render_markdown(summary, table)}\n")
        tex.append(f"% {TITLES.get(table, f'Table {table}')} -- {where}\n{render_latex(summary, table)}\n")
    return "\n".join(md), "\n".join(tex)


# --- rows from trained networks ---------------------------------------------------------------------

def trained_entry(profile: Any, label: str, objective: str, variant: dict[str, Any] | None,
                  benchmarks: dict[str, list[Window]], outputs: Sequence[str], *, inputs: str = "lr",
                  niqe: bool = False, paper_method: str | None = None, note: str = "",
                  runs_dir: str | Path | None = None, cache_dir: str | Path | None = None, progress: bool = True,
                  init_objective: str | None = "STAR", wrap: Any = None, key_suffix: str = "",
                  **train_overrides: Any) -> tuple[Entry, Any]:
    """Train (or reuse) ``objective`` on ``profile.model + variant``, score it on ``benchmarks`` and return
    the table entry and the method. ``inputs="hr"`` feeds HR frames (T-SR at the original resolution);
    ``wrap`` turns the method into another one (e.g. :class:`starlib.evaluation.cascades.LRFramesAsInput`)."""
    from starlib.infer.tiling import STARMethod
    from starlib.models.star import count_parameters
    from starlib.study.recipes import flow_cache, train_model

    run = train_model(profile, objective, variant, runs_dir=runs_dir, cache_dir=cache_dir, progress=progress,
                      init_objective=init_objective, **train_overrides)
    ev = profile.sections.get("eval", {})
    tile = ev.get("tile_hr" if inputs == "hr" else "tile_lr", 0)
    method = STARMethod(run.model, flow_cache(profile, cache_dir), inputs=inputs, tile=tile)
    if wrap is not None:
        method = wrap(method)
    key = f"{run.run_dir.name}-{inputs}-tile{tile}{key_suffix}"
    cache_root = Path(cache_dir).parent if cache_dir else None
    frames = [cached_scores(method, key, windows, dataset, outputs, niqe=niqe, cache_dir=cache_root,
                            scale=profile.model.scale, progress=progress, desc=f"{label} {dataset}")
              for dataset, windows in benchmarks.items() if windows]
    info = {"parameters": count_parameters(run.model), "run": run.run_dir.name,
            "train_wall_time_s": round(run.wall_time_s, 1), "train_steps": len(run.log) and run.log[-1].get("step")}
    return Entry(label, pd.concat(frames, ignore_index=True), paper_method, note, info=info), method


def method_entry(label: str, method: Method, key: str, benchmarks: dict[str, list[Window]],
                 outputs: Sequence[str], *, niqe: bool = False, paper_method: str | None = None, note: str = "",
                 cache_dir: str | Path | None = None, scale: int = 4, progress: bool = True) -> Entry:
    """A table entry for a method that needs no training (baselines, cascades of trained parts)."""
    cache_root = Path(cache_dir).parent if cache_dir else None
    frames = [cached_scores(method, key, windows, dataset, outputs, niqe=niqe, cache_dir=cache_root, scale=scale,
                            progress=progress, desc=f"{label} {dataset}")
              for dataset, windows in benchmarks.items() if windows]
    return Entry(label, pd.concat(frames, ignore_index=True), paper_method, note)


def view(summary: pd.DataFrame, metrics: Sequence[str] = ("psnr", "ssim")) -> pd.DataFrame:
    """A compact view of a table's summary for notebooks: one line per (method, dataset, output, metric)."""
    cols = ["method", "dataset", "output", "metric", "mean", "ci95_low", "ci95_high", "n", "delta_vs_reference",
            "delta_ci95_low", "delta_ci95_high", "paper_reported", "paper_dataset", "paper_delta_vs_reference",
            "status"]
    keep = summary[summary.metric.isin(metrics) | summary["mean"].isna()]
    return keep[cols].round(3)
