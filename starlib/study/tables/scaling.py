"""Claims against compute: how each verdict moves as training grows (issue 25, notebook 15, docs/scaling.md).

A budget multiplier k scales every step count of the chains a claim group needs: ``[train]`` and
``[train.finetune]`` steps (and any objective's own), ``[stages]`` net_s_steps, fr_steps and core_steps (so the
cascades' Net_S-alone runs too), and ``[validation] every`` (the same number of validation points at every
budget). Learning-rate milestones are fractions of a run, so they move with it. Both sides of every comparison
get the same k. k = 1 is the profile itself (the same runs, shipped runs and cached scores included); a scaled
run is an ordinary run of the profile's runs folder (named by its configs, resumable, reused): the budgets' runs
are :mod:`starlib.study.trainings.scaling_runs`, and this module trains and scores them.

Groups: ``central`` (Table 7: STAR-ST vs RBPN -> flow interp. and DBPN -> flow interp.; Table 2: STAR-ST vs
STAR) and ``ablations`` (Table 1 stage 2, flow, FR; Table 4 Net_S; Table 6 T-SR paths); ``video`` and
``replicates`` are the central group trained with more real video and with other training seeds. Each budget's
tables (restricted to the rows the claims need) and claims (``claims_<group>.csv``) go to
``results/<profile>/scaling/k<k>/`` (``video-k<k>/``, ``replicates-k<k>-seed<seed>/``), judged by notebook 12's
rule (:mod:`starlib.study.tables.claims`). Command line, one group's budgets smallest first:

    python -m starlib scaling --profile cpu --group central [--budgets 0.25 0.5]

(``python -m starlib.study.tables.scaling`` is an alias kept for old scripts.)
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from starlib.study.trainings.catalog import T1, T4, T6, T7
from starlib.study.tables.claims import CLAIMS, Claim, evaluate_claims
from starlib.study.tables.entries import Entry, Stopwatch, data_description, write_table
from starlib.study.trainings.plans import plan, run_configs, run_name
from starlib.study.trainings.scaling_runs import (GROUP_TABLES, GROUPS, T2_ROWS, T7_ROWS, budget_label, budget_points,
                                        budget_runs, budget_workspace, group_kind, keep_run_records,
                                        missing_runs, row_trainings, run_compute, run_file)
from starlib.study.setup.workspace import Workspace
from starlib.study.tables.tables_1_6 import table1, table2, table4, table6
from starlib.study.tables.tables_7_10 import Comparisons
from starlib.study.trainings.training_runs import train_run
from starlib.util.atomic import atomic_write_text
from starlib.util.commands import alias_main
from starlib.util.config import ConfigError
from starlib.util.damaged import read_results_csv
from starlib.util.provenance import PROVENANCE_COLUMNS, write_results_csv

#: The central claim against the other cascade: not a claim of the paper's text, but the same Table 7 rows.
STARST_VS_DBPN = Claim("T7-starst-vs-dbpn-cascade", 7, T7.STAR_ST, T7.DBPN_FI, "sr_mid",
                       "STAR-ST beats DBPN -> flow interp. (the DBPN cascade)")
CENTRAL_IDS = ("T7-starst-vs-cascade", "T7-star-vs-cascade", "T7-starst-vs-star", "T2-st")
#: Each restricted table's reference row.
REFERENCES = {7: T7.RBPN_FI, 2: "STAR", 1: T1.FULL, 4: T4.DBPN, 6: T6.ONLY_ST}


def group_claims(group: str) -> tuple[Claim, ...]:
    """The claims a group's budgets judge."""
    if group_kind(group) == "central":
        return tuple(c for c in CLAIMS if c.id in CENTRAL_IDS) + (STARST_VS_DBPN,)
    return tuple(c for c in CLAIMS if c.table in GROUP_TABLES["ablations"])


# --- scoring a budget ---------------------------------------------------------------------------------------

def budget_entries(ws: Workspace, group: str) -> dict[int, list[Entry]]:
    """Train (or reuse) and score the group's tables under ``ws``: table number -> entries."""
    if group_kind(group) == "central":
        return {7: Comparisons(ws).table7(only=T7_ROWS), 2: table2(ws, T2_ROWS)}
    return {1: table1(ws), 4: table4(ws), 6: table6(ws)}


def claim_compute(ws: Workspace, group: str, runs: pd.DataFrame) -> pd.DataFrame:
    """Per claim of the group: the training compute of both rows' chains, a run both share counted once."""
    by_name = runs.set_index("run")
    trainings = row_trainings(ws, group)
    rows = []
    for c in group_claims(group):
        names = {p.name for label in (c.better, c.worse) for what in trainings.get((c.table, label), [])
                 for p in plan(ws, what).chain}
        sel = by_name.loc[sorted(names)] if names else by_name.iloc[:0]
        timed = sel["hours"].notna()
        rows.append({"claim": c.id, "train_flops": float(sel["flops"].sum()),
                     "train_hours": float(sel.loc[timed, "hours"].sum()), "runs": len(sel),
                     "runs_timed": int(timed.sum())})
    return pd.DataFrame(rows)


def claims_file(bws: Workspace, group: str) -> Path:
    """Where a budget's claims of one group go: the groups of one k share the folder (their tables differ)."""
    return bws.results / f"claims_{group}.csv"


def score_budget(ws: Workspace, group: str, k: float, log: Callable[..., None] = print,
                 seed: int | None = None) -> pd.DataFrame:
    """Train (or reuse) and score a group at budget ``k`` (``ws`` is the study's workspace; ``seed``: a
    replicate's training seed); writes the tables, ``claims_<group>.csv`` and ``runs_<group>.csv`` to the
    budget's folder and returns the claims."""
    bws = budget_workspace(ws, k, group, seed)
    clock = Stopwatch()
    entries = budget_entries(bws, group)
    data = f"{data_description([e for es in entries.values() for e in es]).split(';')[0]}; scaling {group} k={k:g}"
    data += f" seed={seed}" if seed is not None else ""
    for table, es in entries.items():
        write_table(bws, table, es, bws.provenance(data, 0, clock()), reference=REFERENCES[table])
    return _write_budget_claims(bws, group, k, evaluate_claims(bws.results, group_claims(group)), data, clock, log,
                                seed)


def _write_budget_claims(bws: Workspace, group: str, k: float, claims: pd.DataFrame, data: str, clock: Stopwatch,
                         log: Callable[..., None], seed: int | None = None) -> pd.DataFrame:
    """Add each claim's compute to a budget's claims and write ``runs_<group>.csv``, the runs' records and
    ``claims_<group>.csv`` (last: its presence marks the budget scored)."""
    runs = run_compute(bws, group)
    compute = claim_compute(bws, group, runs)
    claims = claims.merge(compute, on="claim", how="left").assign(group=group, k=k)
    tested = claims[claims.verdict != "not tested"]
    prov = bws.provenance(data, int(tested["n"].sum()) if len(tested) else 0, clock())
    write_results_csv(runs.assign(group=group, k=k).to_dict("records"), bws.results_file(f"runs_{group}.csv"), prov)
    keep_run_records(bws, group)
    write_results_csv(claims.to_dict("records"), claims_file(bws, group), prov)
    log(f"{group} {point_label(k, seed)}: scored in {clock():.0f} s -> {bws.results}")
    return claims


def study_tables_differ(ws: Workspace, group: str) -> str | None:
    """Why the study's own tables of a group (``<results>/table<N>.csv`` and ``_items.csv``, notebooks 07-09) cannot
    stand for the group's k = 1 budget, or None when they can: every table is there, scored from a clean tree at
    the workspace's profile and training seed, and each row that names its run (``info_run``) names the run the budget plans for
    that row (the same configs, so the same run)."""
    if group_kind(group) != group:
        return f"the {group} group trains other runs than the study's"
    bws = budget_workspace(ws, 1, group)
    planned = {key: {plan(bws, what).name for what in whats} for key, whats in row_trainings(bws, group).items()}
    for table in sorted(GROUP_TABLES[group]):
        path = ws.results / f"table{table}.csv"
        if not path.is_file() or not (ws.results / f"table{table}_items.csv").is_file():
            return f"{path.name} or its items are not in {ws.results}"
        scored = read_results_csv(path)
        if set(scored["profile"]) != {ws.profile.name} or set(scored["seed"]) != {ws.train_seed}:
            return f"{path} was scored at another profile or seed"
        if scored["git_commit"].astype(str).str.endswith("-dirty").any():
            return f"{path} was scored from a tree with uncommitted changes; rerun its notebook at a clean commit"
        for (t, label), names in planned.items():
            if t != table or not names:
                continue
            rows = scored[scored["method"] == label]
            if rows.empty:
                return f"{path} has no row {label!r}"
            ran = set(rows["info_run"].dropna()) if "info_run" in rows else set()
            if not ran <= names:
                return f"{path} row {label!r} was scored with {', '.join(sorted(ran))}, not {', '.join(sorted(names))}"
    return None


def adopt_study_tables(ws: Workspace, group: str, log: Callable[..., None] = print) -> bool:
    """Score the group's k = 1 budget from the study's own tables when they can stand for it
    (:func:`study_tables_differ`): k = 1 is the profile itself, so training its runs again would give the same
    tables. The claims are judged on the study's files where they are (one home); the budget folder gets
    ``claims_<group>.csv`` and ``runs_<group>.csv``, its provenance naming the tables and their commits. Whether
    it adopted them."""
    if study_tables_differ(ws, group) is not None:
        return False
    bws = budget_workspace(ws, 1, group)
    clock = Stopwatch()
    tables = sorted(GROUP_TABLES[group])
    commits = sorted({str(c) for t in tables for c in read_results_csv(ws.results / f"table{t}.csv")["git_commit"]})
    data = (f"the study's tables {', '.join(map(str, tables))} ({ws.results.parent.name}/{ws.results.name}, scored "
            f"at {', '.join(commits)}); scaling {group} k=1")
    log(f"{group} k1: the study's own tables {', '.join(map(str, tables))} stand for it (the same runs)")
    _write_budget_claims(bws, group, 1, evaluate_claims(ws.results, group_claims(group)), data, clock, log)
    return True


def point_label(k: float, seed: int | None = None) -> str:
    """``k2``, or ``k1 seed 124`` for a replicate: a point of a group in messages."""
    return budget_label(k) + (f" seed {seed}" if seed is not None else "")


def run_budget(ws: Workspace, group: str, k: float, train_missing: bool = True,
               log: Callable[..., None] = print, seed: int | None = None) -> bool:
    """Make sure budget ``k`` of the group (with training seed ``seed``: a replicate) is scored: a budget whose
    ``claims_<group>.csv`` exists is kept as it is (its own commit); otherwise the runs are trained when
    ``train_missing`` (else the budget is skipped while any run is missing) and the tables scored. Whether the
    budget has its claims now."""
    bws = budget_workspace(ws, k, group, seed)
    if claims_file(bws, group).is_file():
        return True
    missing = missing_runs(bws, group)
    if missing and k == 1 and seed is None and adopt_study_tables(ws, group, log):
        return True
    if missing and not train_missing:
        log(f"{group} {point_label(k, seed)}: skipped, {len(missing)} run(s) not trained ({', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}); train them with python -m starlib scaling "
            f"--profile {ws.profile.name} --group {group} --budgets {k:g}"
            + (f" --seeds {seed}" if seed is not None else ""))
        return False
    clock = Stopwatch()
    for name, what in budget_runs(bws, group):
        if name in missing:
            train_run(bws, what)
    if missing:
        log(f"{group} {point_label(k, seed)}: trained {len(missing)} run(s) in {clock() / 3600:.2f} h")
    score_budget(ws, group, k, log, seed)
    return True


# --- across budgets ------------------------------------------------------------------------------------------

SCALING_COLUMNS = ["group", "k", "claim", "table", "text", "dataset", "output", "metric", "n", "margin",
                   "margin_ci95_low", "margin_ci95_high", "min_effect", "verdict", "reason", "paper_margin",
                   "paper_dataset", "train_flops", "train_hours", "runs", "runs_timed", "train_seed",
                   "budget_git_commit", "budget_created_utc"]


def collect(ws: Workspace, group: str, budgets: Sequence[float] | None = None) -> pd.DataFrame:
    """The rows of every scored budget of a group (``claims_<group>.csv`` of each budget folder; each seed of
    a replicate), each with the training seed and the commit it was produced at."""
    frames = []
    for k, seed in budget_points(ws.profile, group, budgets):
        path = claims_file(budget_workspace(ws, k, group, seed), group)
        if not path.is_file():
            continue
        claims = pd.read_csv(path)
        claims = claims.rename(columns={"git_commit": "budget_git_commit", "created_utc": "budget_created_utc",
                                        "seed": "train_seed"})
        frames.append(claims.assign(group=group, k=k))
    if not frames:
        return pd.DataFrame(columns=SCALING_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    for c in SCALING_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan
    out = out[SCALING_COLUMNS].sort_values(["group", "claim", "dataset", "k", "train_seed"], kind="stable")
    return out.reset_index(drop=True)


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
    rests on and where the verdict changes. The replicates are left out (:func:`seed_spread` reads them)."""
    rows = []
    tested = scaling[(scaling.verdict != "not tested") & (scaling.group != "replicates")]
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


def seed_spread(scaling: pd.DataFrame) -> pd.DataFrame:
    """Per (claim, data set, budget) with replicates: the central group's margin and each replicate's (one row
    of ``scaling`` per training seed), their mean, standard deviation (n - 1) and range, the mean half width of
    the single runs' 95% intervals (what the test items' sampling alone gives), and the verdicts. Run-to-run
    spread that is large against that half width (or against a trend's change per doubling) is noise the
    single-seed intervals do not show."""
    rep = scaling[(scaling.group == "replicates") & (scaling.verdict != "not tested")]
    rows = []
    for (claim, dataset, k), r in rep.groupby(["claim", "dataset", "k"], sort=True):
        main = scaling[(scaling.group == "central") & (scaling.claim == claim) & (scaling.dataset == dataset)
                       & (scaling.k == k)]
        g = pd.concat([main, r]).sort_values("train_seed", kind="stable")
        m = g["margin"].astype(float)
        rows.append({"claim": claim, "dataset": dataset, "k": k, "text": r["text"].iloc[0], "n_seeds": len(g),
                     "seeds": ",".join(f"{int(x)}" for x in g["train_seed"]),
                     "margins": ",".join(f"{x:+.3f}" for x in m), "margin_mean": float(m.mean()),
                     "margin_sd": float(m.std(ddof=1)) if len(g) > 1 else float("nan"),
                     "margin_range": float(m.max() - m.min()),
                     "ci95_half_width": float(((g["margin_ci95_high"] - g["margin_ci95_low"]) / 2).mean()),
                     "verdicts": ",".join(g["verdict"])})
    return pd.DataFrame(rows, columns=["claim", "dataset", "k", "text", "n_seeds", "seeds", "margins", "margin_mean",
                                       "margin_sd", "margin_range", "ci95_half_width", "verdicts"])


TREND_COLUMNS = {"slope_per_doubling": "trend_slope_per_doubling", "slope_ci95_low": "trend_slope_ci95_low",
                 "slope_ci95_high": "trend_slope_ci95_high", "budgets": "trend_budgets",
                 "verdict_changes": "trend_verdict_changes"}
TREND_PROVENANCE = ("trend_git_commit", "trend_created_utc")   # where claims.csv's trend columns come from


def with_trend_columns(claims: pd.DataFrame, trend: pd.DataFrame, prov: dict | None = None) -> pd.DataFrame:
    """``claims`` (notebook 12's ``claims.csv``) with the ``trend_*`` columns of the claims the compute trends
    cover (the ``video`` group's are left out; earlier trend columns replaced; empty for claims without one).
    With ``prov`` (the provenance of ``scaling_trends.csv``), the rows with a trend also name the commit and time
    it was computed at (``trend_git_commit``, ``trend_created_utc``): the row's own ``git_commit`` is notebook
    12's."""
    claims = claims.drop(columns=[c for c in claims.columns if c.startswith("trend_")])
    columns = [*TREND_COLUMNS.values(), *(TREND_PROVENANCE if prov else ())]
    if trend.empty:
        return claims.assign(**{c: np.nan for c in columns})
    t = trend[trend.group != "video"]           # the data axis is a second curve, not the claim's trend
    t = t[["claim", "dataset", *TREND_COLUMNS]].rename(columns=TREND_COLUMNS)
    if prov:
        t = t.assign(**{c: prov[c.removeprefix("trend_")] for c in TREND_PROVENANCE})
    return claims.merge(t, on=["claim", "dataset"], how="left")


def write_trend_columns(claims_path: Path, trend: pd.DataFrame, prov: dict | None = None) -> bool:
    """Add the ``trend_*`` columns to notebook 12's ``claims.csv`` in place (its rows and provenance kept, the
    trend columns before the provenance ones); False when there is no such file yet."""
    if not claims_path.is_file():
        return False
    claims = with_trend_columns(pd.read_csv(claims_path), trend, prov)
    prov_columns = [c for c in PROVENANCE_COLUMNS if c in claims.columns]
    claims = claims[[c for c in claims.columns if c not in prov_columns] + prov_columns]
    atomic_write_text(claims_path, claims.to_csv(index=False))
    return True


def validation_curves(ws: Workspace, group: str, budgets: Sequence[float] | None = None) -> pd.DataFrame:
    """The validation scores (``val.csv``) of the last run behind each row of the group, at every budget with
    runs: step, the fraction of the run, and the gain over bicubic + averaging per output."""
    frames = []
    for k, seed in budget_points(ws.profile, group, budgets):
        bws = budget_workspace(ws, k, group, seed)
        for (table, label), whats in row_trainings(bws, group).items():
            if table == 2:                  # the same runs as Table 7's rows
                continue
            name = run_name(bws, whats[-1])
            path = run_file(bws, name, "val.csv")
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

#: What ``python -m starlib scaling`` does (its help).
DESCRIPTION = ("Train and score one claim group's budgets of the profile's [scaling] section, smallest first: each "
               "budget's runs (resumable: run it again after an interruption), then its tables and claims in "
               "results/<profile>/scaling/k<k>/. Notebook 15 collects them.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m starlib scaling``."""
    from starlib.study.setup.profile import available_profiles

    p.add_argument("--profile", default="cpu", choices=available_profiles())
    p.add_argument("--group", required=True, choices=GROUPS)
    p.add_argument("--budgets", type=float, nargs="+", default=None,
                   help="budget multipliers k (default: the profile's [scaling] list for the group)")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="with --group replicates: these training seeds only (default: the profile's [scaling] "
                        "replicate_seeds)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: the profile's)")
    p.add_argument("--runs-dir", default=None, help="parent of the per-profile runs folder (default: runs/)")
    p.add_argument("--list", action="store_true", help="only list each budget's runs and whether they exist")


def run(args: argparse.Namespace) -> int:
    """Train and score each budget (or list its runs with ``--list``)."""
    ws = Workspace.create(args.profile, runs_dir=args.runs_dir, device=args.device)
    try:
        points = budget_points(ws.profile, args.group, args.budgets, args.seeds)
    except ConfigError as e:
        raise SystemExit(f"{e} (--seeds)") from None
    for k, seed in points:
        if args.list:
            bws = budget_workspace(ws, k, args.group, seed)
            missing = set(missing_runs(bws, args.group))
            for name, what in budget_runs(bws, args.group):
                print(f"{point_label(k, seed)}\t{name}\t{run_configs(bws, what)[1].steps} steps\t"
                      f"{'to train' if name in missing else 'finished'}")
            continue
        start = time.time()
        run_budget(ws, args.group, k, train_missing=True, seed=seed)
        print(f"{args.group} {point_label(k, seed)} done in {(time.time() - start) / 3600:.2f} h", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m starlib.study.tables.scaling``: an alias of ``python -m starlib scaling`` (same options)."""
    return alias_main(DESCRIPTION, add_arguments, run, argv, prog="python -m starlib.study.tables.scaling")


if __name__ == "__main__":
    raise SystemExit(main())
