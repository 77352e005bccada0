"""Claims against compute: how each verdict moves as training grows (issue 25, notebook 15, docs/scaling.md).

A budget multiplier k scales every step count of the chains a claim group needs: ``[train]`` and
``[train.finetune]`` steps (and any objective's own), ``[stages]`` net_s_steps, fr_steps and core_steps (so the
cascades' Net_S-alone runs too), and ``[validation] every`` (the same number of validation points at every
budget). Learning-rate milestones are fractions of a run, so they move with it. Both sides of every comparison
get the same k. k = 1 is the profile itself (the same runs, shipped runs and cached scores included); a scaled
run is an ordinary run of the profile's runs folder (named by its configs, resumable, reused).

Groups: ``central`` (Table 7: STAR-ST vs RBPN -> flow interp. and DBPN -> flow interp.; Table 2: STAR-ST vs
STAR) and ``ablations`` (Table 1 stage 2, flow, FR; Table 4 Net_S; Table 6 T-SR paths). Each budget's tables
(restricted to the rows the claims need) and claims (``claims_<group>.csv``) go to
``results/<profile>/scaling/k<k>/``, judged by
notebook 12's rule (:mod:`starlib.study.claims`). Command line, one group's budgets smallest first:

    python -m starlib.study.scaling --profile cpu --group central [--budgets 0.25 0.5]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from starlib.models.flops import count_train_flops
from starlib.study.claims import CLAIMS, Claim, evaluate_claims
from starlib.study.entries import Entry, Stopwatch, data_description, write_table
from starlib.study.profile import Profile, load_profile
from starlib.study.recipes import Training, net_s_alone, run_configs, run_name, stages, train_run
from starlib.study.tables_1_6 import (T1, T4, T6, table1, table1_trainings, table2, table2_trainings, table4,
                                      table4_trainings, table6, table6_trainings)
from starlib.study.tables_7_10 import T7, Comparisons, t7_star
from starlib.study.workspace import Workspace
from starlib.train import TrainConfig
from starlib.util.atomic import atomic_write_text
from starlib.util.config import ConfigError
from starlib.util.paths import SHIPPED_RUNS_DIR
from starlib.util.provenance import PROVENANCE_COLUMNS, write_results_csv

GROUPS = ("central", "ablations", "video")
#: The central claim against the other cascade: not a claim of the paper's text, but the same Table 7 rows.
STARST_VS_DBPN = Claim("T7-starst-vs-dbpn-cascade", 7, T7.STAR_ST, T7.DBPN_FI, "sr_mid",
                       "STAR-ST beats DBPN -> flow interp. (the DBPN cascade)")
CENTRAL_IDS = ("T7-starst-vs-cascade", "T7-star-vs-cascade", "T7-starst-vs-star", "T2-st")
#: Rows of the restricted tables (the floor is always there) and each table's reference row.
T7_ROWS = (T7.DBPN_FI, T7.RBPN_FI, T7.STAR, T7.STAR_ST)
T2_ROWS = ("STAR", "STAR-ST")
REFERENCES = {7: T7.RBPN_FI, 2: "STAR", 1: T1.FULL, 4: T4.DBPN, 6: T6.ONLY_ST}
GROUP_TABLES = {"central": (7, 2), "ablations": (1, 4, 6)}


def _kind(group: str) -> str:
    """The claims and tables of a group: ``video`` is the central group trained with more real video."""
    if group not in GROUPS:
        raise ConfigError(f"unknown scaling group {group!r}; choose one of {list(GROUPS)}")
    return "central" if group == "video" else group


def group_claims(group: str) -> tuple[Claim, ...]:
    """The claims a group's budgets judge."""
    if _kind(group) == "central":
        return tuple(c for c in CLAIMS if c.id in CENTRAL_IDS) + (STARST_VS_DBPN,)
    return tuple(c for c in CLAIMS if c.table in GROUP_TABLES["ablations"])


def budget_label(k: float) -> str:
    """The folder name of budget ``k``: ``k0.25``, ``k1``, ``k8``."""
    return f"k{k:g}"


def scale_steps(steps: int, k: float) -> int:
    """``steps`` x ``k``, halves rounded up, at least 1."""
    return max(1, math.floor(steps * k + 0.5))


def scaled_profile(profile: Profile, k: float) -> Profile:
    """``profile`` with every step count (and the validation interval) times ``k``; ``k = 1`` returns the
    profile itself. A profile that loads a stage from a file (``[stages] net_s_file``, ``fr_file``) is refused:
    that stage would not scale with the rest."""
    if not k > 0:
        raise ConfigError(f"budget multiplier k = {k}: must be > 0")
    if k == 1:
        return profile
    stages = profile.stages
    loaded = [key for key in ("net_s_file", "fr_file") if getattr(stages, key)]
    if loaded:
        raise ConfigError(f"{profile.path or profile.name}: [stages] {', '.join(loaded)} loads a stage from a file, "
                          f"which a budget multiplier cannot scale; remove it to study claims against compute")
    train = profile.train

    def scaled(table: dict[str, Any], default: int | None) -> dict[str, Any]:
        steps = table.get("steps", default)
        return table if steps is None else {**table, "steps": scale_steps(int(steps), k)}

    train = dataclasses.replace(train, base=scaled(train.base, TrainConfig.steps), finetune=scaled(train.finetune, None),
                                per_objective={o: scaled(t, None) for o, t in train.per_objective.items()})
    stages = dataclasses.replace(stages, **{key: scale_steps(getattr(stages, key), k) if getattr(stages, key) else 0
                                            for key in ("net_s_steps", "fr_steps", "core_steps")})
    validation = profile.validation
    if validation.every:
        validation = dataclasses.replace(validation, every=scale_steps(validation.every, k))
    note = f" (scaled: k = {k:g} x every step count)"
    return dataclasses.replace(profile, description=profile.description + note, train=train, stages=stages,
                               validation=validation)


def budget_workspace(ws: Workspace, k: float, group: str = "central") -> Workspace:
    """The workspace of budget ``k``: the scaled profile, the same runs and caches, results in
    ``<results>/scaling/k<k>/``. The ``video`` group trains with ``[scaling] video_clips`` added to the
    training data (``[data] packaged_video``: other run names), results in ``scaling/video-k<k>/``."""
    profile = scaled_profile(ws.profile, k)
    folder = budget_label(k)
    if _kind(group) != group:
        clips = ws.profile.scaling.video_clips
        profile = dataclasses.replace(profile, data=dataclasses.replace(profile.data, packaged_video=clips))
        folder = f"{group}-{folder}"
    return dataclasses.replace(ws, profile=profile, results=ws.results / "scaling" / folder)


def row_trainings(ws: Workspace, group: str) -> dict[tuple[int, str], list[Training]]:
    """``(table, row label) -> the trainings behind that row`` (the floor has none) for a group's tables."""
    if _kind(group) == "central":
        rows = {(7, T7.DBPN_FI): [net_s_alone(ws.profile, "DBPN")], (7, T7.RBPN_FI): [net_s_alone(ws.profile, "RBPN")],
                (7, T7.STAR): [t7_star(ws)[0]], (7, T7.STAR_ST): [Training("STAR-ST")]}
        rows.update({(2, label): [what] for label, (what, _, _) in table2_trainings(ws, T2_ROWS).items()})
        return rows
    rows = {(1, label): [what] for label, (what, _, _) in table1_trainings(ws).items()}
    rows.update({(4, label): [what] for label, (what, _) in table4_trainings(ws).items()})
    rows.update({(6, label): [what] for label, (what, _) in table6_trainings(ws).items()})
    return rows


def budget_runs(ws: Workspace, group: str) -> list[tuple[str, Training]]:
    """``(run name, what)`` of every run a group needs under ``ws``'s profile, upstream stages first, once."""
    seen: dict[str, Training] = {}
    for whats in row_trainings(ws, group).values():
        for what in whats:
            for step in stages(ws, what):
                seen.setdefault(run_name(ws, step), step)
    return list(seen.items())


def scaling_runs(ws: Workspace) -> list[tuple[str, Workspace, Training]]:
    """Every run of the profile's ``[scaling]`` budgets (both groups), each once with the workspace it trains
    under; k = 1 gives the study's own runs."""
    seen: dict[str, tuple[Workspace, Training]] = {}
    for group in GROUPS:
        for k in ws.profile.scaling.budgets(group):
            bws = budget_workspace(ws, k, group)
            for name, what in budget_runs(bws, group):
                seen.setdefault(name, (bws, what))
    return [(name, bws, what) for name, (bws, what) in seen.items()]


def _finished(ws: Workspace, name: str) -> bool:
    return (ws.runs / name / "model.pt").is_file() or (SHIPPED_RUNS_DIR / ws.profile.name / name / "model.pt").is_file()


def missing_runs(ws: Workspace, group: str) -> list[str]:
    """Runs of the group at ``ws``'s budget that are neither finished in the runs folder nor shipped. A shipped
    run stands for its parents (train_run installs it without them)."""
    missing, covered = [], set()
    for whats in row_trainings(ws, group).values():
        for what in whats:
            chain = stages(ws, what)
            if _finished(ws, run_name(ws, what)):
                covered.update(run_name(ws, t) for t in chain)
    for name, _ in budget_runs(ws, group):
        if name not in covered and not _finished(ws, name):
            missing.append(name)
    return missing


# --- scoring a budget ---------------------------------------------------------------------------------------

def budget_entries(ws: Workspace, group: str) -> dict[int, list[Entry]]:
    """Train (or reuse) and score the group's tables under ``ws``: table number -> entries."""
    if _kind(group) == "central":
        return {7: Comparisons(ws).table7(only=T7_ROWS), 2: table2(ws, T2_ROWS)}
    return {1: table1(ws), 4: table4(ws), 6: table6(ws)}


#: A run's files kept beside a scored budget (:func:`keep_run_records`): enough for its hours and validation curve.
RUN_RECORD_FILES = ("config.json", "log.csv", "val.csv")


def run_records_dir(bws: Workspace) -> Path:
    """Where a budget keeps its runs' records: ``<budget results>/runs/<run name>/`` (committed with the budget,
    so notebook 15 draws the curve on a machine that does not hold the runs)."""
    return bws.results / "runs"


def _log_file(ws: Workspace, name: str, file: str) -> Path | None:
    for folder in (ws.runs / name, SHIPPED_RUNS_DIR / ws.profile.name / name, run_records_dir(ws) / name):
        if (folder / file).is_file():
            return folder / file
    return None


def keep_run_records(bws: Workspace, group: str) -> list[str]:
    """Copy each trained run's :data:`RUN_RECORD_FILES` of the group (from the runs folder; shipped runs are
    committed already) into :func:`run_records_dir`; the run names copied."""
    kept = []
    for name, _ in budget_runs(bws, group):
        source = bws.runs / name
        if not (source / "model.pt").is_file():
            continue
        target = run_records_dir(bws) / name
        target.mkdir(parents=True, exist_ok=True)
        for file in RUN_RECORD_FILES:
            if (source / file).is_file():
                atomic_write_text(target / file, (source / file).read_text())
        kept.append(name)
    return kept


def run_hours(ws: Workspace, name: str, steps: int) -> float:
    """Training hours of a run from its ``log.csv`` (mean seconds per logged step x steps); NaN without a log."""
    path = _log_file(ws, name, "log.csv")
    if path is None:
        return float("nan")
    log = pd.read_csv(path)
    if log.empty or "seconds_per_step" not in log.columns:
        return float("nan")
    return float(log["seconds_per_step"].mean()) * steps / 3600


def step_flops(ws: Workspace, what: Training) -> int:
    """FLOPs of one training step of ``what`` (forward+backward of a batch at the run's crop,
    :func:`starlib.models.flops.count_train_flops`), kept in ``<cache>/flops.json`` (counting takes seconds)."""
    mcfg, tcfg = run_configs(ws, what)
    patch = tcfg.patch or ws.profile.validation.crop or 64      # full frames: counted at a 64-px crop
    key = json.dumps({"model": mcfg.to_dict(), "patch": patch, "batch": tcfg.batch_size}, sort_keys=True)
    path = ws.cache / "flops.json"
    known = json.loads(path.read_text()) if path.is_file() else {}
    if key not in known:
        known[key] = count_train_flops(mcfg, (patch, patch), tcfg.batch_size)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(known, indent=1, sort_keys=True))
    return int(known[key])


def run_compute(ws: Workspace, group: str) -> pd.DataFrame:
    """One row per run of the group at ``ws``'s budget: steps, training FLOPs (:func:`step_flops` x steps) and
    hours from its log."""
    rows = []
    for name, what in budget_runs(ws, group):
        steps = run_configs(ws, what)[1].steps
        rows.append({"run": name, "objective": what.objective, "steps": steps,
                     "flops": step_flops(ws, what) * steps, "hours": run_hours(ws, name, steps)})
    return pd.DataFrame(rows)


def claim_compute(ws: Workspace, group: str, runs: pd.DataFrame) -> pd.DataFrame:
    """Per claim of the group: the training compute of both rows' chains, a run both share counted once."""
    by_name = runs.set_index("run")
    trainings = row_trainings(ws, group)
    rows = []
    for c in group_claims(group):
        names = {run_name(ws, t) for label in (c.better, c.worse) for what in trainings.get((c.table, label), [])
                 for t in stages(ws, what)}
        sel = by_name.loc[sorted(names)] if names else by_name.iloc[:0]
        timed = sel["hours"].notna()
        rows.append({"claim": c.id, "train_flops": float(sel["flops"].sum()),
                     "train_hours": float(sel.loc[timed, "hours"].sum()), "runs": len(sel),
                     "runs_timed": int(timed.sum())})
    return pd.DataFrame(rows)


def claims_file(bws: Workspace, group: str) -> Path:
    """Where a budget's claims of one group go: the groups of one k share the folder (their tables differ)."""
    return bws.results / f"claims_{group}.csv"


def score_budget(ws: Workspace, group: str, k: float, log: Callable[..., None] = print) -> pd.DataFrame:
    """Train (or reuse) and score a group at budget ``k`` (``ws`` is the study's workspace); writes the tables,
    ``claims_<group>.csv`` and ``runs_<group>.csv`` to the budget's folder and returns the claims."""
    bws = budget_workspace(ws, k, group)
    clock = Stopwatch()
    entries = budget_entries(bws, group)
    data = f"{data_description([e for es in entries.values() for e in es]).split(';')[0]}; scaling {group} k={k:g}"
    for table, es in entries.items():
        write_table(bws, table, es, bws.provenance(data, 0, clock()), reference=REFERENCES[table])
    claims = evaluate_claims(bws.results, group_claims(group))
    runs = run_compute(bws, group)
    compute = claim_compute(bws, group, runs)
    claims = claims.merge(compute, on="claim", how="left").assign(group=group, k=k)
    tested = claims[claims.verdict != "not tested"]
    prov = bws.provenance(data, int(tested["n"].sum()) if len(tested) else 0, clock())
    write_results_csv(runs.assign(group=group, k=k).to_dict("records"), bws.results_file(f"runs_{group}.csv"), prov)
    keep_run_records(bws, group)
    write_results_csv(claims.to_dict("records"), claims_file(bws, group), prov)
    log(f"{group} {budget_label(k)}: scored in {clock():.0f} s -> {bws.results}")
    return claims


def run_budget(ws: Workspace, group: str, k: float, train_missing: bool = True,
               log: Callable[..., None] = print) -> bool:
    """Make sure budget ``k`` of the group is scored: a budget whose ``claims_<group>.csv`` exists is kept as it is
    (its own commit); otherwise the runs are trained when ``train_missing`` (else the budget is skipped while
    any run is missing) and the tables scored. Whether the budget has its claims now."""
    bws = budget_workspace(ws, k, group)
    if claims_file(bws, group).is_file():
        return True
    missing = missing_runs(bws, group)
    if missing and not train_missing:
        log(f"{group} {budget_label(k)}: skipped, {len(missing)} run(s) not trained ({', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}); train them with python -m starlib.study.scaling "
            f"--profile {ws.profile.name} --group {group} --budgets {k:g}")
        return False
    clock = Stopwatch()
    for name, what in budget_runs(bws, group):
        if name in missing:
            train_run(bws, what)
    if missing:
        log(f"{group} {budget_label(k)}: trained {len(missing)} run(s) in {clock() / 3600:.2f} h")
    score_budget(ws, group, k, log)
    return True


# --- across budgets ------------------------------------------------------------------------------------------

SCALING_COLUMNS = ["group", "k", "claim", "table", "text", "dataset", "output", "metric", "n", "margin",
                   "margin_ci95_low", "margin_ci95_high", "min_effect", "verdict", "reason", "paper_margin",
                   "paper_dataset", "train_flops", "train_hours", "runs", "runs_timed", "budget_git_commit",
                   "budget_created_utc"]


def collect(ws: Workspace, group: str, budgets: Sequence[float] | None = None) -> pd.DataFrame:
    """The rows of every scored budget of a group (``claims_<group>.csv`` of each budget folder), each with the
    commit it was produced at."""
    frames = []
    for k in budgets if budgets is not None else ws.profile.scaling.budgets(group):
        path = claims_file(budget_workspace(ws, k, group), group)
        if not path.is_file():
            continue
        claims = pd.read_csv(path)
        claims = claims.rename(columns={"git_commit": "budget_git_commit", "created_utc": "budget_created_utc"})
        frames.append(claims.assign(group=group, k=k))
    if not frames:
        return pd.DataFrame(columns=SCALING_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    for c in SCALING_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan
    return out[SCALING_COLUMNS].sort_values(["group", "claim", "dataset", "k"], kind="stable").reset_index(drop=True)


def wls_slope(x: Sequence[float], y: Sequence[float], se: Sequence[float]) -> tuple[float, float, float]:
    """Slope of ``y`` on ``x`` by weighted least squares (weights 1 / se^2; equal weights where an se is not
    positive and finite) and its t-based 95% interval (n - 2 degrees of freedom; NaN bounds with 2 points,
    all NaN with fewer)."""
    from scipy import stats

    x, y, se = (np.asarray(v, dtype=float) for v in (x, y, se))
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, se = x[ok], y[ok], se[ok]
    n = len(x)
    if n < 2 or np.ptp(x) == 0:
        return float("nan"), float("nan"), float("nan")
    w = np.where(np.isfinite(se) & (se > 0), 1.0 / np.maximum(se, 1e-12) ** 2, np.nan)
    w = np.ones(n) if np.isnan(w).any() else w / w.mean()
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    sxx = float(np.sum(w * (x - xm) ** 2))
    slope = float(np.sum(w * (x - xm) * (y - ym)) / sxx)
    if n < 3:
        return slope, float("nan"), float("nan")
    resid = y - (ym + slope * (x - xm))
    s2 = float(np.sum(w * resid ** 2) / (n - 2))
    half = float(stats.t.ppf(0.975, n - 2)) * math.sqrt(s2 / sxx)
    return slope, slope - half, slope + half


def verdict_changes(rows: pd.DataFrame) -> str:
    """Where the verdict of one claim on one data set changes as k grows (``rows`` sorted or not): e.g.
    ``k=2: not reproduced -> inconclusive``; ``none`` when it holds at every budget."""
    rows = rows.sort_values("k")
    changes, before = [], None
    for k, v in zip(rows["k"], rows["verdict"]):
        if before is not None and v != before:
            changes.append(f"k={k:g}: {before} -> {v}")
        before = v
    return "; ".join(changes) or "none"


def trends(scaling: pd.DataFrame) -> pd.DataFrame:
    """Per (group, claim, data set): the slope of the margin per doubling of training FLOPs (weighted least
    squares over the budgets, weights from each margin's interval) with its 95% interval, the budgets it
    rests on and where the verdict changes."""
    rows = []
    tested = scaling[scaling.verdict != "not tested"]
    for (group, claim, dataset), g in tested.groupby(["group", "claim", "dataset"], sort=False):
        g = g.sort_values("k")
        se = (g["margin_ci95_high"] - g["margin_ci95_low"]) / (2 * 1.96)
        slope, lo, hi = wls_slope(np.log2(g["train_flops"].astype(float)), g["margin"], se)
        rows.append({"group": group, "claim": claim, "dataset": dataset, "text": g["text"].iloc[0],
                     "budgets": ",".join(f"{k:g}" for k in g["k"]), "n_budgets": len(g),
                     "slope_per_doubling": slope, "slope_ci95_low": lo, "slope_ci95_high": hi,
                     "first_margin": float(g["margin"].iloc[0]), "last_margin": float(g["margin"].iloc[-1]),
                     "first_verdict": g["verdict"].iloc[0], "last_verdict": g["verdict"].iloc[-1],
                     "verdict_changes": verdict_changes(g)})
    return pd.DataFrame(rows)


TREND_COLUMNS = {"slope_per_doubling": "trend_slope_per_doubling", "slope_ci95_low": "trend_slope_ci95_low",
                 "slope_ci95_high": "trend_slope_ci95_high", "budgets": "trend_budgets",
                 "verdict_changes": "trend_verdict_changes"}


def with_trend_columns(claims: pd.DataFrame, trend: pd.DataFrame) -> pd.DataFrame:
    """``claims`` (notebook 12's ``claims.csv``) with the ``trend_*`` columns of the claims the compute trends
    cover (the ``video`` group's are left out; earlier trend columns replaced; empty for claims without one)."""
    claims = claims.drop(columns=[c for c in claims.columns if c.startswith("trend_")])
    if trend.empty:
        return claims.assign(**{c: np.nan for c in TREND_COLUMNS.values()})
    t = trend[trend.group != "video"]           # the data axis is a second curve, not the claim's trend
    t = t[["claim", "dataset", *TREND_COLUMNS]].rename(columns=TREND_COLUMNS)
    return claims.merge(t, on=["claim", "dataset"], how="left")


def write_trend_columns(claims_path: Path, trend: pd.DataFrame) -> bool:
    """Add the ``trend_*`` columns to notebook 12's ``claims.csv`` in place (its rows and provenance kept, the
    trend columns before the provenance ones); False when there is no such file yet."""
    if not claims_path.is_file():
        return False
    claims = with_trend_columns(pd.read_csv(claims_path), trend)
    prov = [c for c in PROVENANCE_COLUMNS if c in claims.columns]
    claims = claims[[c for c in claims.columns if c not in prov] + prov]
    atomic_write_text(claims_path, claims.to_csv(index=False))
    return True


def validation_curves(ws: Workspace, group: str, budgets: Sequence[float] | None = None) -> pd.DataFrame:
    """The validation scores (``val.csv``) of the last run behind each row of the group, at every budget with
    runs: step, the fraction of the run, and the gain over bicubic + averaging per output."""
    frames = []
    for k in budgets if budgets is not None else ws.profile.scaling.budgets(group):
        bws = budget_workspace(ws, k, group)
        for (table, label), whats in row_trainings(bws, group).items():
            if table == 2:                  # the same runs as Table 7's rows
                continue
            name = run_name(bws, whats[-1])
            path = _log_file(bws, name, "val.csv")
            if path is None:
                continue
            val = pd.read_csv(path)
            steps = run_configs(bws, whats[-1])[1].steps
            frames.append(val.assign(group=group, k=k, row=label, run=name, steps=steps,
                                     fraction=val["step"] / steps, gain=val["psnr"] - val["baseline_psnr"]))
    if not frames:
        return pd.DataFrame(columns=["group", "k", "row", "run", "step", "steps", "fraction", "output", "psnr",
                                     "baseline_psnr", "gain"])
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates(["group", "k", "run", "step", "output"])


# --- command line --------------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    from starlib.study.profile import available_profiles

    p = argparse.ArgumentParser(prog="python -m starlib.study.scaling", description=(
        "Train and score one claim group's budgets of the profile's [scaling] section, smallest first: each "
        "budget's runs (resumable: run it again after an interruption), then its tables and claims in "
        "results/<profile>/scaling/k<k>/. Notebook 15 collects them."))
    p.add_argument("--profile", default="cpu", choices=available_profiles())
    p.add_argument("--group", required=True, choices=GROUPS)
    p.add_argument("--budgets", type=float, nargs="+", default=None,
                   help="budget multipliers k (default: the profile's [scaling] list for the group)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: the profile's)")
    p.add_argument("--runs-dir", default=None, help="parent of the per-profile runs folder (default: runs/)")
    p.add_argument("--list", action="store_true", help="only list each budget's runs and whether they exist")
    args = p.parse_args(argv)
    ws = Workspace.create(load_profile(args.profile), runs_dir=args.runs_dir, device=args.device)
    budgets = sorted(args.budgets) if args.budgets else list(ws.profile.scaling.budgets(args.group))
    for k in budgets:
        if args.list:
            bws = budget_workspace(ws, k, args.group)
            missing = set(missing_runs(bws, args.group))
            for name, what in budget_runs(bws, args.group):
                print(f"{budget_label(k)}\t{name}\t{run_configs(bws, what)[1].steps} steps\t"
                      f"{'to train' if name in missing else 'finished'}")
            continue
        start = time.time()
        run_budget(ws, args.group, k, train_missing=True)
        print(f"{args.group} {budget_label(k)} done in {(time.time() - start) / 3600:.2f} h", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
