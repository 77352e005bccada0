"""Tables rendered for reading and citing: Markdown (``tables.md``) and LaTeX (``tables.tex``) from the table
CSVs. Rendering only: every number comes from ``results/<profile>/table<N>.csv``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from starlib.paper.outputs import OUTPUTS

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


def output_symbol(name: str) -> str:
    return OUTPUTS[name].symbol if name in OUTPUTS else name


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
        lines.append("| " + " | ".join([label, str(dataset or "-") if ran else "-", output_symbol(output)] + cells + paper) + " |")
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
        lines.append(" & ".join([esc(method), esc(dataset or "--"), esc(output_symbol(output)),
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


