"""The paper's comparative claims, each evaluated on our per-item scores (never asserted), by effect size.

A claim says method A beats method B on one output and metric in one table. For every test data set where
both were scored on the same items, the paired difference A - B (sign-flipped for lower-is-better metrics),
its 95% interval [lo, hi] and the metric's minimum effect delta (:data:`MIN_EFFECT`) give the verdict:

- ``reproduced``: lo > +delta (A is better by an effect a reader would call one, as the paper says);
- ``not reproduced``: hi < -delta (B is better by such an effect: the opposite holds);
- ``no effect at this scale``: -delta < lo and hi < +delta (the difference, if any, is below delta);
- ``inconclusive``: otherwise (the interval reaches past a delta bound and contains values on both sides);
- ``not testable at this scale``: the model that carries the component (A) does not itself beat the table's
  non-learned floor (:mod:`starlib.study.tables.floors`) by delta on that output (lo > +delta), so the comparison
  measures under-training rather than the component;
- ``not tested``: a row is missing (not run at this profile, e.g. the L_f models without VGG19 weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from starlib.evaluation.stats import LOWER_IS_BETTER, paired_difference
from starlib.study.trainings.catalog import FLOOR, T1, T3, T4, T5, T6, T7, T8, T9, T10
from starlib.study.tables.render import interval_digits
from starlib.util.damaged import read_results_csv

#: The smallest paired difference (in the metric's unit) that counts as an effect: 0.05 dB PSNR, 0.002 SSIM,
#: 0.05 grey levels of interpolation error, 0.05 NIQE (each about 0.5-1% of typical values here).
MIN_EFFECT: dict[str, float] = {"psnr": 0.05, "psnr_y": 0.05, "ssim": 0.002, "ssim_y": 0.002, "ssim_wang": 0.002,
                                "ie_mae": 0.05, "ie_rms": 0.05, "ie_starnet": 0.05, "niqe": 0.05}
#: The non-learned floor row of each table (Table 5 has none: its claims are not checked against a floor).
FLOORS: dict[int, str] = {1: FLOOR, 2: FLOOR, 3: FLOOR, 4: FLOOR, 6: FLOOR, 7: T7.BICUBIC_AVG, 8: T8.BICUBIC,
                          9: T9.AVERAGE, 10: T10.AVERAGE}
VERDICTS = ("reproduced", "not reproduced", "no effect at this scale", "inconclusive", "not testable at this scale",
            "not tested")
RULE = ("A claim is *reproduced* when the paired 95% interval of its margin lies above +delta, *not reproduced* "
        "when it lies below -delta, *no effect at this scale* when it lies inside (-delta, +delta), *inconclusive* "
        "otherwise, and *not testable at this scale* when the model carrying the component does not itself beat "
        "the non-learned floor by delta on that output; delta = " +
        ", ".join(f"{v:g} {k}" for k, v in MIN_EFFECT.items() if k in ("psnr", "ssim", "ie_starnet", "niqe")) +
        " (starlib.study.tables.claims.MIN_EFFECT).")
#: The rule of claims files written before the effect-size rule (no ``min_effect`` column).
FORMAT1_RULE = ("These verdicts were reached by the earlier rule: *reproduced* when the paired 95% interval of the "
                "margin lies above 0, *not reproduced* below 0, *inconclusive* when it contains 0 (no minimum "
                "effect); regenerating the claims applies the effect-size rule.")

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


def verdict(low: float, high: float, delta: float = 0.0) -> str:
    """The verdict of a paired margin's 95% interval [low, high] for a minimum effect ``delta`` (see above)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "inconclusive"
    if low > delta:
        return "reproduced"
    if high < -delta:
        return "not reproduced"
    if delta > 0 and -delta < low and high < delta:
        return "no effect at this scale"
    return "inconclusive"


def _margin(frame: pd.DataFrame, a: str, b: str, output: str, metric: str, dataset: str) -> tuple[float, float, float, int]:
    sel = frame[(frame.output == output) & (frame.dataset == dataset)]
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    return paired_difference(sel[sel.method == a], sel[sel.method == b], metric, sign=sign)


def paper_margin(summary: pd.DataFrame | None, c: Claim, dataset: str) -> tuple[float, str]:
    """The paper's own margin for claim ``c`` (its reported value of the better row minus the worse one,
    oriented as the claim) and the data set the paper reports it on, from ``table<N>.csv``; NaN where the
    paper reports one of the two rows on no data set both share."""
    if summary is None or "paper_reported" not in summary.columns:
        return float("nan"), ""
    rows = summary[(summary.output == c.output) & (summary.metric == c.metric) & summary.paper_reported.notna()]
    mine = rows[rows.dataset == dataset]
    values = {}
    for label in (c.better, c.worse):
        r = mine[mine.method == label]
        values[label] = (float(r.paper_reported.iloc[0]), str(r.paper_dataset.iloc[0])) if len(r) else None
    if values[c.better] is None or values[c.worse] is None or values[c.better][1] != values[c.worse][1]:
        return float("nan"), ""
    sign = -1.0 if c.metric in LOWER_IS_BETTER else 1.0
    return sign * (values[c.better][0] - values[c.worse][0]), values[c.better][1]


def evaluate_claims(results_dir: str | Path, claims: tuple[Claim, ...] = CLAIMS) -> pd.DataFrame:
    """One row per (claim, data set): both means, the paired margin (better - worse, oriented so that
    positive agrees with the paper) with its 95% interval, the verdict, and the paper's own margin where it
    reports both rows (``paper_margin``, on ``paper_dataset``). Reads ``table<N>_items.csv`` and
    ``table<N>.csv``."""
    results_dir = Path(results_dir)
    items: dict[int, pd.DataFrame | None] = {}
    summaries: dict[int, pd.DataFrame | None] = {}
    rows = []
    for c in claims:
        if c.table not in items:
            path = results_dir / f"table{c.table}_items.csv"
            items[c.table] = read_results_csv(path, dtype={"item": str}) if path.is_file() else None
        frame = items[c.table]
        if c.table not in summaries:
            path = results_dir / f"table{c.table}.csv"
            summaries[c.table] = read_results_csv(path) if path.is_file() else None
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
        delta = MIN_EFFECT.get(c.metric, 0.0)
        floor = FLOORS.get(c.table)
        for dataset, g in paired.groupby("dataset", sort=False):
            margin, lo, hi, n = _margin(frame, c.better, c.worse, c.output, c.metric, dataset)
            paper, paper_dataset = paper_margin(summaries[c.table], c, dataset)
            row = {**base, "dataset": dataset, "n": n, "better_mean": float(g[f"{c.metric}_better"].mean()),
                   "worse_mean": float(g[f"{c.metric}_worse"].mean()), "margin": margin, "margin_ci95_low": lo,
                   "margin_ci95_high": hi, "min_effect": delta, "verdict": verdict(lo, hi, delta), "reason": "",
                   "paper_margin": paper, "paper_dataset": paper_dataset}
            if floor and floor not in (c.better, c.worse) and floor in have:
                fm, flo, fhi, _ = _margin(frame, c.better, floor, c.output, c.metric, dataset)
                row.update(floor=floor, floor_margin=fm, floor_ci95_low=flo, floor_ci95_high=fhi)
                if not flo > delta:
                    row.update(verdict="not testable at this scale",
                               reason=f"{c.better} does not beat {floor} by {delta:g} {c.metric} on {c.output} "
                                      f"({fm:+.3f} [{flo:+.3f}, {fhi:+.3f}])")
            rows.append(row)
    return pd.DataFrame(rows)


def claims_markdown(claims: pd.DataFrame) -> str:
    """The rule the verdicts were reached by, then a Markdown table of evaluated claims."""
    rule = RULE if "min_effect" in claims.columns else FORMAT1_RULE
    lines = [rule, "", "| claim | paper says | data | ours: better / worse | margin [95% CI] | paper's margin | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for _, r in claims.iterrows():
        if r["verdict"] == "not tested":
            lines.append(f"| {r['claim']} | {r['text']} | - | - | - | - | not tested ({r['reason']}) |")
            continue
        unit = "" if r["metric"] == "psnr" else f" {r['metric']}"
        d = interval_digits(r["margin_ci95_low"], r["margin_ci95_high"], 3)
        paper = r.get("paper_margin", float("nan"))
        paper = f"{paper:+.3f} ({r['paper_dataset']})" if pd.notna(paper) else ""
        lines.append(f"| {r['claim']} | {r['text']} | {r['dataset']} | {r['better_mean']:.3f} / {r['worse_mean']:.3f}{unit} | "
                     f"{r['margin']:+.{d}f} [{r['margin_ci95_low']:+.{d}f}, {r['margin_ci95_high']:+.{d}f}] | {paper} | "
                     f"{r['verdict']}"
                     + (f" ({r['reason']})" if isinstance(r.get("reason"), str) and r["reason"] else "") + " |")
    return "\n".join(lines)


def verdict_counts(claims: pd.DataFrame) -> dict[str, int]:
    return {k: int(v) for k, v in claims["verdict"].value_counts().items()}


#: Colours of the verdicts in :func:`claims_figure`.
VERDICT_COLORS = {"reproduced": "tab:green", "not reproduced": "tab:red", "inconclusive": "tab:gray",
                  "no effect at this scale": "tab:blue", "not testable at this scale": "lightgray"}


def claims_figure(claims: pd.DataFrame, title: str):
    """One panel per test data set, one line per evaluated claim: our margin and its 95% interval, coloured by
    verdict, the paper's own margin (black cross, where it reports both rows) and the minimum effect +-delta
    shaded. PSNR claims only share the dB axis; claims on other metrics and claims not tested are left out."""
    import matplotlib.pyplot as plt

    t = claims[(claims.verdict != "not tested") & (claims.metric == "psnr")]
    ids = list(dict.fromkeys(t["claim"]))
    datasets = list(dict.fromkeys(t["dataset"])) or ["-"]
    delta = MIN_EFFECT["psnr"]
    from starlib.study.tables.figures import wrapped

    fig, axes = plt.subplots(1, len(datasets), figsize=(5.2 * len(datasets) + 3.2, 0.34 * max(len(ids), 4) + 1.9),
                             sharey=True, squeeze=False)
    texts = dict(zip(t["claim"], t["text"]))
    for ax, dataset in zip(axes[0], datasets):
        ax.axvspan(-delta, delta, color="tab:blue", alpha=0.1, lw=0)
        ax.axvline(0, color="black", lw=0.8)
        for _, r in t[t.dataset == dataset].iterrows():
            i, lo, hi = ids.index(r["claim"]), r["margin_ci95_low"], r["margin_ci95_high"]
            ax.errorbar(r["margin"], i, xerr=[[r["margin"] - lo], [hi - r["margin"]]] if np.isfinite(lo) else None,
                        fmt="o", color=VERDICT_COLORS[r["verdict"]], ms=5, capsize=2, lw=1.2)
            if pd.notna(r.get("paper_margin", np.nan)):
                ax.plot(r["paper_margin"], i, marker="x", color="black", ms=6, mew=1.5)
        ax.set_title(dataset, fontsize=11)
        ax.set_xlabel("margin in the paper's direction (dB)", fontsize=10)
        ax.tick_params(labelsize=9)
        ax.grid(axis="x", lw=0.4, alpha=0.5)
    axes[0, 0].set_yticks(range(len(ids)))
    axes[0, 0].set_yticklabels([wrapped(f"{i}: {texts[i]}", 4.3, 8.5, max_lines=2) for i in ids], fontsize=8.5)
    axes[0, 0].invert_yaxis()
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=v) for v, c in VERDICT_COLORS.items()]
    handles += [plt.Line2D([], [], marker="x", ls="", color="black", mew=1.5, label="the paper's margin"),
                plt.Rectangle((0, 0), 1, 1, color="tab:blue", alpha=0.1, label=f"±{delta:g} dB (no effect)")]
    fig.legend(handles=handles, fontsize=9, loc="lower center", ncol=4, frameon=False)
    fig.suptitle(wrapped(title, 5.2 * len(datasets) + 2.8, 12), fontsize=12)
    fig.tight_layout(rect=(0, 0.07 if len(ids) > 10 else 0.16, 1, 1))
    return fig
