"""The acceptance targets of the staged recipe at small scale (issue 12), evaluated on our per-item scores.

A target compares two rows on one output, paired per item on each test set, as the claims do
(:mod:`starlib.study.tables.claims`): *above* by ``threshold`` is met when the paired 95% interval of ``a - b`` lies
above ``threshold``; *no worse* is met when it lies above ``-delta`` (the metric's minimum effect), i.e. ``a`` is
not worse by an effect a reader would call one. *Goals* are targets the issue hopes for but does not require.
The ablation target (Tables 1, 4 and 6) reads the claims: wherever the paper reports a difference above 0.1 dB,
our rows must differ by more than delta in either direction, or the claim must be *not testable at this scale*.
Nothing here is asserted: the table says what holds at this profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from starlib.evaluation.stats import paired_difference
from starlib.study.tables.claims import MIN_EFFECT
from starlib.study.trainings.catalog import T7, T8, T9, T10
from starlib.study.tables.objective_rows import result_name, stage1_label
from starlib.util.damaged import read_results_csv

ABOVE, NO_WORSE = "above", "no worse"
#: Tables whose rows must differ wherever the paper's do (by more than this many dB).
ABLATION_TABLES, PAPER_DIFFERENCE_DB = (1, 4, 6), 0.1
STATUSES = ("met", "not met", "undefined", "not run")


@dataclass(frozen=True)
class Target:
    id: str
    text: str
    a: tuple[str, str]          # (results file stem, method label): the row that should be better
    b: tuple[str, str]
    output: str
    kind: str = ABOVE           # ABOVE (by threshold) or NO_WORSE (not worse by delta)
    threshold: float = MIN_EFFECT["psnr"]
    goal: bool = False


def _objective(objective: str) -> tuple[str, str]:
    return result_name(objective), objective


def _table(n: int, label: str) -> tuple[str, str]:
    return f"table{n}_items", label


TARGETS: tuple[Target, ...] = (
    Target("stars-vs-rbpn", "STAR-S S-SR above RBPN alone (the paper's Table 8 ordering)",
           _table(8, T8.STAR_S), _table(8, T8.RBPN), "sr_t"),
    Target("star-vs-net-s", "STAR S-SR no worse than its own Net_S (RBPN alone, stage (a))",
           _objective("STAR"), _table(8, T8.RBPN), "sr_t", NO_WORSE),
    Target("starst-vs-net-s", "STAR-ST S-SR no worse than its own Net_S (RBPN alone, stage (a))",
           _table(8, T8.STAR_ST), _table(8, T8.RBPN), "sr_t", NO_WORSE),
    Target("starst-vs-rbpn-avg", "STAR-ST ST-SR middle frame at least RBPN -> averaging",
           _table(7, T7.STAR_ST), _table(7, T7.RBPN_AVG), "sr_mid", NO_WORSE),
    Target("starst-vs-cascade", "STAR-ST ST-SR middle frame above RBPN -> flow interp. (joint beats cascaded)",
           _table(7, T7.STAR_ST), _table(7, T7.RBPN_FI), "sr_mid", goal=True),
    Target("starst-vs-bicubic", "STAR-ST S-SR at least 1 dB above bicubic",
           _table(8, T8.STAR_ST), _table(8, T8.BICUBIC), "sr_t", threshold=1.0),
    *(Target(f"stage2-{result_name(o)}-{out}", f"{o}: stage 2 no worse than its stage-1 {out}",
             _objective(o), (result_name(o), stage1_label(o)), out, NO_WORSE)
      for o, outs in (("STAR-ST", ("sr_t", "sr_mid")), ("STAR", ("sr_t", "sr_mid", "lr_mid"))) for out in outs),
    Target("tlr-vs-average", "STAR-T_LR above frame averaging on LR frames",
           _table(10, T10.STAR_T_LR), _table(10, T10.AVERAGE), "lr_mid"),
    Target("tlr-vs-flow", "STAR-T_LR above classical flow interpolation on LR frames",
           _table(10, T10.STAR_T_LR), _table(10, T10.FI), "lr_mid", goal=True),
    Target("thr-vs-average", "STAR-T_HR at least 1 dB above frame averaging at full resolution",
           _table(9, T9.STAR_T_HR), _table(9, T9.AVERAGE), "hr_mid", threshold=1.0),
    Target("thr-vs-flow", "STAR-T_HR above classical flow interpolation at full resolution",
           _table(9, T9.STAR_T_HR), _table(9, T9.FI), "hr_mid", goal=True),
)


def _rows(results: Path, cache: dict[str, pd.DataFrame | None], stem: str, method: str,
          output: str) -> pd.DataFrame | None:
    if stem not in cache:
        path = results / f"{stem}.csv"
        cache[stem] = read_results_csv(path, dtype={"item": str}) if path.is_file() else None
    frame = cache[stem]
    if frame is None or "method" not in frame.columns:
        return None
    sel = frame[(frame.method == method) & (frame.output == output)]
    return sel if len(sel) else None


def _status(t: Target, low: float) -> str:
    """``undefined`` when the interval is (a single item, or an infinite PSNR of identical frames)."""
    if not np.isfinite(low):
        return "undefined"
    bound = t.threshold if t.kind == ABOVE else -MIN_EFFECT["psnr"]
    return "met" if low > bound else "not met"


def evaluate_targets(results_dir: str | Path, claims: pd.DataFrame | None = None,
                     targets: tuple[Target, ...] = TARGETS) -> pd.DataFrame:
    """One row per (target, test set): the paired PSNR difference a - b with its 95% interval, the bound it
    must clear and the status (``undefined`` where the interval is); then the ablation target per claim of
    Tables 1, 4 and 6 (from ``claims``, default ``claims.csv``) where the paper's own margin exceeds 0.1 dB, and
    ``not run`` rows for those claims whose rows were not run (or for all of them without claims)."""
    results = Path(results_dir)
    cache: dict[str, pd.DataFrame | None] = {}
    rows = []
    for t in targets:
        base = {"target": t.id, "text": t.text, "goal": t.goal, "output": t.output, "better": t.a[1],
                "worse": t.b[1], "kind": t.kind,
                "bound": t.threshold if t.kind == ABOVE else -MIN_EFFECT["psnr"]}
        a, b = _rows(results, cache, *t.a, t.output), _rows(results, cache, *t.b, t.output)
        if a is None or b is None:
            missing = [f"{m} in {s}.csv" for (s, m), f in ((t.a, a), (t.b, b)) if f is None]
            rows.append({**base, "dataset": "", "status": "not run", "reason": "no rows: " + "; ".join(missing)})
            continue
        for dataset in dict.fromkeys(a["dataset"]):
            diff, low, high, n = paired_difference(a[a.dataset == dataset], b[b.dataset == dataset], "psnr")
            if n == 0:
                continue
            rows.append({**base, "dataset": dataset, "n": n, "difference": diff, "ci95_low": low,
                         "ci95_high": high, "status": _status(t, low), "reason": ""})
    if claims is None and (results / "claims.csv").is_file():
        claims = read_results_csv(results / "claims.csv")
    ablation = {"goal": False, "kind": "differ", "bound": MIN_EFFECT["psnr"], "dataset": ""}
    if claims is None or "paper_margin" not in claims.columns:
        rows.append({**ablation, "target": "ablation", "output": "", "better": "", "worse": "",
                     "text": "Tables 1, 4 and 6 rows differ where the paper's do", "status": "not run",
                     "reason": "no claims.csv with the paper's margins (notebook 12 writes it)"})
    else:
        mine = claims[claims.table.isin(ABLATION_TABLES)]
        for _, c in mine[mine.verdict == "not tested"].iterrows():     # no rows, so no margins either
            rows.append({**ablation, "target": f"ablation-{c['claim']}", "output": c["output"], "better": c["better"],
                         "worse": c["worse"], "text": f"Table {int(c['table'])} rows differ where the paper's do: "
                                                      f"{c['text']}", "status": "not run", "reason": c["reason"]})
        sel = mine[(mine.verdict != "not tested") & (mine.paper_margin.abs() > PAPER_DIFFERENCE_DB)]
        for _, c in sel.iterrows():
            ok = c["verdict"] in ("reproduced", "not reproduced", "not testable at this scale")
            rows.append({"target": f"ablation-{c['claim']}", "goal": False, "output": c["output"],
                         "text": f"Table {int(c['table'])} rows differ where the paper's do: {c['text']}"
                                 + ("" if "dB" in c["text"] else f" (paper {c['paper_margin']:+.2f} dB)"),
                         "better": c["better"], "worse": c["worse"], "kind": "differ", "bound": MIN_EFFECT["psnr"],
                         "dataset": c["dataset"], "n": c.get("n"), "difference": c.get("margin"),
                         "ci95_low": c.get("margin_ci95_low"), "ci95_high": c.get("margin_ci95_high"),
                         "status": "met" if ok else "not met",
                         "reason": c["verdict"]})
    return pd.DataFrame(rows)


def targets_markdown(targets: pd.DataFrame) -> str:
    """The targets as a Markdown table, the rule first."""
    lines = [f"A target *above* by t is met when the paired 95% interval of the PSNR difference lies above t; "
             f"*no worse* when it lies above -{MIN_EFFECT['psnr']:g} dB; *differ* (Tables 1, 4, 6, wherever the "
             f"paper's rows differ by more than {PAPER_DIFFERENCE_DB:g} dB) when the claim's verdict is reproduced, "
             f"not reproduced or not testable at this scale. Goals are marked (goal).", "",
             "| target | data | difference [95% CI] (dB) | must clear | status |", "| --- | --- | --- | --- | --- |"]
    for _, r in targets.iterrows():
        text = r["text"] + (" (goal)" if r.get("goal") else "")
        if r["status"] == "not run" and (not r.get("dataset") or pd.isna(r.get("difference"))):
            lines.append(f"| {text} | - | - | - | not run ({r['reason']}) |")
            continue
        diff = (f"{r['difference']:+.3f} [{r['ci95_low']:+.3f}, {r['ci95_high']:+.3f}]"
                if pd.notna(r.get("difference")) else "-")
        bound = {"above": f"> {r['bound']:+g}", "no worse": f"> {r['bound']:+g}",
                 "differ": f"outside ±{r['bound']:g}"}[r["kind"]]
        status = r["status"] + (f" ({r['reason']})" if r["kind"] == "differ" and r["reason"] else "")
        lines.append(f"| {text} | {r['dataset']} | {diff} | {bound} | {status} |")
    return "\n".join(lines)


def tally(targets: pd.DataFrame) -> dict[str, int]:
    """How many (target, data set) rows have each status, goals apart."""
    req = targets[~targets["goal"].astype(bool)]
    return {s: int((req["status"] == s).sum()) for s in STATUSES}


__all__ = ["STATUSES", "TARGETS", "Target", "evaluate_targets", "tally", "targets_markdown"]
