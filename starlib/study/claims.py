"""The paper's comparative claims, each evaluated on our per-item scores (never asserted).

A claim says method A beats method B on one output and metric in one table. For every test data set where
both were scored on the same items, the paired difference A - B (sign-flipped for lower-is-better metrics)
and its 95% interval give the verdict:

- ``reproduced``: the interval lies above 0 (A is better, as the paper says);
- ``not reproduced``: the interval lies below 0 (B is better);
- ``inconclusive``: the interval contains 0;
- ``not tested``: a row is missing (not run at this profile, e.g. the L_f models without VGG19 weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from starlib.evaluation.stats import LOWER_IS_BETTER, paired_difference
from starlib.study.tables_1_6 import T1, T3, T4, T5, T6
from starlib.study.tables_7_10 import T7, T8, T9, T10


@dataclass(frozen=True)
class Claim:
    id: str
    table: int
    better: str          # our row label in that table
    worse: str
    output: str
    text: str            # the claim in the paper's words (abridged)
    metric: str = "psnr"


CLAIMS: tuple[Claim, ...] = (
    Claim("T1-stage2-st", 1, T1.FULL, T1.NO_STAGE2, "sr_mid", "Stage 2 improves ST-SR (+0.36 dB)"),
    Claim("T1-stage2-s", 1, T1.FULL, T1.NO_STAGE2, "sr_t", "Stage 2 improves S-SR (+1.0 dB)"),
    Claim("T1-flow-st", 1, T1.FULL, T1.NO_FLOW, "sr_mid", "Flow improves ST-SR (+0.28 dB)"),
    Claim("T1-flow-s", 1, T1.FULL, T1.NO_FLOW, "sr_t", "Flow improves S-SR (+0.43 dB)"),
    Claim("T1-fr-st", 1, T1.FULL, T1.NO_FR, "sr_mid", "FR improves ST-SR (small gain)"),
    Claim("T1-fr-s", 1, T1.FULL, T1.NO_FR, "sr_t", "FR improves S-SR (small gain)"),
    Claim("T2-st", 2, "STAR-ST", "STAR", "sr_mid", "Finetuning to STAR-ST improves ST-SR"),
    Claim("T2-s", 2, "STAR-S", "STAR", "sr_t", "Finetuning to STAR-S improves S-SR"),
    Claim("T2-t", 2, "STAR-T_LR", "STAR", "lr_mid", "Finetuning to STAR-T improves T-SR"),
    Claim("T3-lr-psnr-s", 3, T3.LR, T3.LF, "sr_t", "L_r gives higher PSNR than L_f on S-SR"),
    Claim("T3-lr-psnr-st", 3, T3.LR, T3.LF, "sr_mid", "L_r gives higher PSNR than L_f on ST-SR"),
    Claim("T3-lf-niqe", 3, T3.LF, T3.LR, "sr_mid", "L_f gives a better (lower) NIQE", "niqe"),
    Claim("T4-s", 4, T4.RBPN, T4.DBPN, "sr_t", "RBPN as Net_S beats DBPN on S-SR"),
    Claim("T4-st", 4, T4.RBPN, T4.DBPN, "sr_mid", "RBPN as Net_S beats DBPN on ST-SR"),
    Claim("T5-s", 5, T5.ST_THEN_THR, T5.TWICE_2X, "sr_t",
          "For 4x T-SR, S-SR first at 4x then T-SR beats two 2x ST-SR steps (I_t^sr)"),
    Claim("T5-st", 5, T5.ST_THEN_THR, T5.TWICE_2X, "sr_mid",
          "For 4x T-SR, S-SR first at 4x then T-SR beats two 2x ST-SR steps (I_t+^sr)"),
    Claim("T6-hr", 6, T6.HR, T6.ONLY_ST, "sr_mid", "T-SR on S-HR helps ST-SR"),
    Claim("T6-lr", 6, T6.LR, T6.ONLY_ST, "sr_mid", "T-SR on S-LR helps ST-SR"),
    Claim("T6-full-vs-only", 6, T6.FULL, T6.ONLY_ST, "sr_mid", "All T-SR paths together help ST-SR most"),
    Claim("T6-full-vs-hr", 6, T6.FULL, T6.HR, "sr_mid", "Full beats ST-SR + T-SR on S-HR"),
    Claim("T6-full-vs-lr", 6, T6.FULL, T6.LR, "sr_mid", "Full beats ST-SR + T-SR on S-LR"),
    Claim("T7-order-rbpn", 7, T7.RBPN_FI, T7.FI_RBPN, "sr_mid",
          "S-SR then T-SR beats T-SR then S-SR (RBPN / DAIN)"),
    Claim("T7-order-dbpn", 7, T7.DBPN_FI, T7.FI_DBPN, "sr_mid",
          "S-SR then T-SR beats T-SR then S-SR (DBPN / TOFlow)"),
    Claim("T7-mi", 7, T7.MI_FI, T7.DBPN_FI, "sr_mid",
          "Multi-image DBPN-MI beats DBPN in the cascade"),
    Claim("T7-rbpn-vs-mi", 7, T7.RBPN_FI, T7.MI_FI, "sr_mid",
          "RBPN beats DBPN-MI in the cascade"),
    Claim("T7-star-vs-cascade", 7, T7.STAR, T7.RBPN_FI, "sr_mid",
          "Even STAR beats the best cascade (RBPN -> DAIN)"),
    Claim("T7-starst-vs-cascade", 7, T7.STAR_ST, T7.RBPN_FI, "sr_mid",
          "STAR-ST beats the best cascade (RBPN -> DAIN)"),
    Claim("T7-starst-vs-star", 7, T7.STAR_ST, T7.STAR, "sr_mid", "STAR-ST is the best on ST-SR"),
    Claim("T8-dbpn", 8, T8.DBPN, T8.BICUBIC, "sr_t", "DBPN beats bicubic"),
    Claim("T8-mi", 8, T8.DBPN_MI, T8.DBPN, "sr_t", "Multiple frames improve DBPN (DBPN-MI)"),
    Claim("T8-rbpn", 8, T8.RBPN, T8.DBPN_MI, "sr_t", "RBPN beats DBPN-MI"),
    Claim("T8-stars-vs-rbpn", 8, T8.STAR_S, T8.RBPN, "sr_t", "STAR-S beats RBPN"),
    Claim("T8-starst-vs-rbpn", 8, T8.STAR_ST, T8.RBPN, "sr_t", "STAR-ST beats RBPN"),
    Claim("T8-stars-vs-starst", 8, T8.STAR_S, T8.STAR_ST, "sr_t", "STAR-S is better than STAR-ST on S-SR"),
    Claim("T9-thr-vs-tlr", 9, T9.STAR_T_HR, T9.STAR_T_LR, "hr_mid", "STAR-T_HR beats STAR-T_LR on S-HR"),
    Claim("T9-thr-vs-star", 9, T9.STAR_T_HR, T9.STAR, "hr_mid", "STAR-T_HR beats STAR on S-HR"),
    Claim("T10-tlr-vs-thr", 10, T10.STAR_T_LR, T10.STAR_T_HR, "lr_mid", "STAR-T_LR beats STAR-T_HR on S-LR"),
    Claim("T10-tlr-vs-star", 10, T10.STAR_T_LR, T10.STAR, "lr_mid", "STAR-T_LR beats STAR on S-LR"),
)


def verdict(low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "inconclusive"
    if low > 0:
        return "reproduced"
    if high < 0:
        return "not reproduced"
    return "inconclusive"


def evaluate_claims(results_dir: str | Path, claims: tuple[Claim, ...] = CLAIMS) -> pd.DataFrame:
    """One row per (claim, data set): both means, the paired margin (better - worse, oriented so that
    positive agrees with the paper) with its 95% interval, and the verdict. Reads ``table<N>_items.csv``."""
    results_dir = Path(results_dir)
    items: dict[int, pd.DataFrame | None] = {}
    rows = []
    for c in claims:
        if c.table not in items:
            path = results_dir / f"table{c.table}_items.csv"
            items[c.table] = pd.read_csv(path, dtype={"item": str}) if path.is_file() else None
        frame = items[c.table]
        base = {"claim": c.id, "table": c.table, "text": c.text, "better": c.better, "worse": c.worse,
                "output": c.output, "metric": c.metric}
        have = set(frame["method"]) if frame is not None else set()
        missing = [m for m in (c.better, c.worse) if m not in have]
        if frame is None or missing or c.metric not in frame.columns:
            why = (f"table {c.table} not generated" if frame is None else
                   f"not run: {', '.join(missing)}" if missing else f"{c.metric} not scored")
            rows.append({**base, "dataset": "", "verdict": "not tested", "reason": why})
            continue
        sel = frame[frame.output == c.output]
        a = sel[sel.method == c.better][["dataset", "item", c.metric]]
        b = sel[sel.method == c.worse][["dataset", "item", c.metric]]
        paired = a.merge(b, on=["dataset", "item"], suffixes=("_better", "_worse")).dropna()
        if paired.empty:
            rows.append({**base, "dataset": "", "verdict": "not tested", "reason": "no items scored by both"})
            continue
        sign = -1.0 if c.metric in LOWER_IS_BETTER else 1.0
        for dataset, g in paired.groupby("dataset", sort=False):
            better = g[["item", f"{c.metric}_better"]].rename(columns={f"{c.metric}_better": c.metric})
            worse = g[["item", f"{c.metric}_worse"]].rename(columns={f"{c.metric}_worse": c.metric})
            margin, lo, hi, n = paired_difference(better, worse, c.metric, sign=sign)
            rows.append({**base, "dataset": dataset, "n": n, "better_mean": float(better[c.metric].mean()),
                         "worse_mean": float(worse[c.metric].mean()), "margin": margin, "margin_ci95_low": lo,
                         "margin_ci95_high": hi, "verdict": verdict(lo, hi), "reason": ""})
    return pd.DataFrame(rows)


def claims_markdown(claims: pd.DataFrame) -> str:
    """A Markdown table of evaluated claims, and a count of verdicts."""
    lines = ["| claim | paper says | data | ours: better / worse | margin [95% CI] | verdict |",
             "| --- | --- | --- | --- | --- | --- |"]
    for _, r in claims.iterrows():
        if r["verdict"] == "not tested":
            lines.append(f"| {r['claim']} | {r['text']} | - | - | - | not tested ({r['reason']}) |")
            continue
        unit = "" if r["metric"] == "psnr" else f" {r['metric']}"
        lines.append(f"| {r['claim']} | {r['text']} | {r['dataset']} | {r['better_mean']:.3f} / {r['worse_mean']:.3f}{unit} | "
                     f"{r['margin']:+.3f} [{r['margin_ci95_low']:+.3f}, {r['margin_ci95_high']:+.3f}] | {r['verdict']} |")
    return "\n".join(lines)


def verdict_counts(claims: pd.DataFrame) -> dict[str, int]:
    return {k: int(v) for k, v in claims["verdict"].value_counts().items()}
