"""The claims-against-compute figure (notebook 15, ``figures/<profile>/scaling.png``): each claim's margin
against training FLOPs on a log axis, the validation curves of every budget below."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd

from starlib.study.tables.claims import MIN_EFFECT

#: Colours of the test sets.
DATASET_COLORS = {"middlebury": "tab:orange", "ucf101": "tab:blue", "vimeo90k": "tab:green"}


def _short_flops(x: float, _pos: int | None = None) -> str:
    """3.254e13 -> '3.3e13': a tick label of training FLOPs."""
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _claim_panel(ax, rows: pd.DataFrame, title: str) -> None:
    delta = MIN_EFFECT["psnr"]
    ax.axhspan(-delta, delta, color="tab:blue", alpha=0.1, lw=0)
    ax.axhline(0, color="black", lw=0.8)
    for i, ((group, dataset), g) in enumerate(rows.groupby(["group", "dataset"], sort=False)):
        g = g.sort_values("k")
        color = DATASET_COLORS.get(dataset, f"C{i + 3}")
        video = group == "video"                    # the data axis: the same claim trained with more video
        replicate = group == "replicates"           # the same budget trained with another seed
        lo, hi = g["margin"] - g["margin_ci95_low"], g["margin_ci95_high"] - g["margin"]
        # nudged right (video) or left (replicates): not hidden behind the same budget's point
        x = g["train_flops"] * (1.12 if video else 0.89 if replicate else 1.0)
        ax.errorbar(x, g["margin"], yerr=[lo, hi], fmt="s:" if video else "x" if replicate else "o-", color=color,
                    ms=5 if replicate else 4, capsize=2, lw=1.2 if not replicate else 0.8,
                    mfc="white" if video else color, label=f"{dataset}{' +video' if video else ''}")
        paper = g["paper_margin"].dropna()
        if len(paper) and not (video or replicate):
            ax.axhline(float(paper.iloc[0]), color=color, ls="--", lw=1, alpha=0.8)
        if i == 0:                                   # k and hours once per budget, in a strip along the top
            for _, r in g.iterrows():                # (above every point: none of them is covered)
                hours = f"{r['train_hours']:.2g} h" + ("+" if r["runs_timed"] < r["runs"] else "")
                ax.text(r["train_flops"], 0.98, f"k={r['k']:g}\n{hours}", transform=ax.get_xaxis_transform(),
                        ha="center", va="top", fontsize=6.5)
    ax.margins(y=0.1)
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + 0.22 * (high - low))     # the strip of k / hours labels
    ax.set_xscale("log")
    # budgets double, so a panel spans a decade or two and matplotlib would label colliding minor ticks
    # (3, 4, 6 x 10^13): tick the budgets' own FLOPs instead, in a short form, and leave the minor ticks bare
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
    ax.xaxis.set_major_locator(FixedLocator(sorted(rows["train_flops"].dropna().unique())))
    ax.xaxis.set_major_formatter(FuncFormatter(_short_flops))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title(title, fontsize=8.5)
    ax.tick_params(labelsize=7.5)
    ax.grid(lw=0.3, alpha=0.5)


def _validation_panel(ax, val: pd.DataFrame, row: str) -> None:
    import matplotlib.pyplot as plt

    output = "sr_mid" if (val.output == "sr_mid").any() else "sr_t"
    v = val[val.output == output]
    ks = sorted(v["k"].unique())
    cmap = plt.get_cmap("viridis")
    for i, k in enumerate(ks):
        g = v[v.k == k].sort_values("step")
        ax.plot(g["step"], g["gain"], "-", color=cmap(i / max(len(ks) - 1, 1)), lw=1.2, label=f"k={k:g}")
    ax.set_xscale("symlog", linthresh=max(1.0, float(v["step"][v["step"] > 0].min()) if (v["step"] > 0).any() else 1))
    ax.set_title(f"validation: {row} ({output})", fontsize=8.5)
    ax.set_xlabel("step", fontsize=7.5)
    ax.tick_params(labelsize=7.5)
    ax.grid(lw=0.3, alpha=0.5)
    ax.legend(fontsize=6.5, frameon=False)


def scaling_figure(scaling: pd.DataFrame, validation: pd.DataFrame, title: str, ncols: int = 5):
    """One panel per PSNR claim (margin in the paper's direction, dB, with its 95% interval, per test set)
    against training FLOPs on a log axis, +-the minimum effect shaded, the paper's margin dashed, each budget's
    k and training hours written along the top ("+": some runs had no log), the data axis's points (hollow
    squares) nudged right of the same budget's, other training seeds' (crosses) left of it; then one panel per
    row of the first group with the validation gain over bicubic + averaging against the step, one curve per
    budget."""
    import matplotlib.pyplot as plt

    t = scaling[(scaling.verdict != "not tested") & (scaling.metric == "psnr")]
    t = t.iloc[t["group"].map({"central": 0, "video": 1, "replicates": 2}).fillna(3).argsort(kind="stable")]
    claims = list(dict.fromkeys(t["claim"]))
    first_group = t["group"].iloc[0] if len(t) else ""
    vrows = list(dict.fromkeys(validation.loc[validation.group == first_group, "row"])) if len(validation) else []
    n_claim_rows = math.ceil(len(claims) / ncols) if claims else 0
    n_val_rows = math.ceil(len(vrows) / ncols) if vrows else 0
    nrows = max(n_claim_rows + n_val_rows, 1)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.7 * ncols, 3.2 * nrows + 0.8), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    texts = dict(zip(t["claim"], t["text"]))
    for i, claim in enumerate(claims):
        ax = axes.flat[i]
        ax.set_visible(True)
        _claim_panel(ax, t[t.claim == claim], "\n".join([claim, *textwrap.wrap(texts[claim], 44, max_lines=2)]))
        if i % ncols == 0:
            ax.set_ylabel("margin (dB)", fontsize=8)
    for j, row in enumerate(vrows):
        ax = axes.flat[n_claim_rows * ncols + j]
        ax.set_visible(True)
        _validation_panel(ax, validation[(validation.group == first_group) & (validation.row == row)], row)
        if j % ncols == 0:
            ax.set_ylabel("gain over floor (dB)", fontsize=8)
    handles = [plt.Line2D([], [], marker="o", color=c, label=d) for d, c in DATASET_COLORS.items()
               if d in set(t["dataset"])]
    if (t["group"] == "video").any():
        handles.append(plt.Line2D([], [], marker="s", ls=":", color="gray", mfc="white",
                                  label="trained with more real video"))
    if (t["group"] == "replicates").any():
        handles.append(plt.Line2D([], [], marker="x", ls="", color="gray", label="another training seed"))
    handles += [plt.Line2D([], [], ls="--", color="gray", label="the paper's margin"),
                plt.Rectangle((0, 0), 1, 1, color="tab:blue", alpha=0.1,
                              label=f"±{MIN_EFFECT['psnr']:g} dB (no effect)")]
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=len(handles), frameon=False)
    fig.supxlabel("training FLOPs of both rows' chains (log; a shared run once)", fontsize=9, y=0.035)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return fig


def stamp_details(scaling: pd.DataFrame) -> str:
    """What the figure's provenance line adds to profile and commit: the training seeds and test sets of its
    rows, e.g. ``seeds=123,124,125 test=middlebury,ucf101``."""
    seeds = ",".join(str(int(s)) for s in sorted(scaling["train_seed"].dropna().unique()))
    return f"seeds={seeds or '-'} test={','.join(sorted(scaling['dataset'].dropna().unique())) or '-'}"


def trend_markdown(trend: pd.DataFrame) -> str:
    """A Markdown table of the trends: slope per doubling of compute with its interval, first and last margins,
    where the verdict changes."""
    lines = ["| claim | data | budgets k | margin at smallest -> largest k (dB) | slope per doubling [95% CI] | "
             "verdict at smallest -> largest k | changes |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for _, r in trend.iterrows():
        ci = (f"{r['slope_per_doubling']:+.3f} [{r['slope_ci95_low']:+.3f}, {r['slope_ci95_high']:+.3f}]"
              if np.isfinite(r["slope_ci95_low"]) else f"{r['slope_per_doubling']:+.3f} (no interval: 2 budgets)"
              if np.isfinite(r["slope_per_doubling"]) else "- (one budget)")
        lines.append(f"| {r['claim']} | {r['dataset']} | {r['budgets']} | {r['first_margin']:+.3f} -> "
                     f"{r['last_margin']:+.3f} | {ci} | {r['first_verdict']} -> "
                     f"{r['last_verdict']} | {r['verdict_changes']} |")
    return "\n".join(lines)


def seed_spread_markdown(spread: pd.DataFrame) -> str:
    """A Markdown table of the run-to-run spread (:func:`starlib.study.tables.scaling.seed_spread`): each
    budget's margins across training seeds against the single runs' interval half width."""
    if spread.empty:
        return "No replicates scored yet (`[scaling] replicates`, `python -m starlib scaling --group replicates`)."
    lines = ["| claim | data | k | seeds | margins (dB) | range | sd | mean 95% half width of one run | verdicts |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for _, r in spread.iterrows():
        lines.append(f"| {r['claim']} | {r['dataset']} | {r['k']:g} | {r['seeds']} | {r['margins']} | "
                     f"{r['margin_range']:.3f} | {r['margin_sd']:.3f} | {r['ci95_half_width']:.3f} | {r['verdicts']} |")
    return "\n".join(lines)
