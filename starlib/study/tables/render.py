"""Tables rendered for reading and citing: Markdown (``tables.md``) and LaTeX (``tables.tex``) from the table
CSVs. Rendering only: every number comes from ``results/<profile>/table<N>.csv``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from starlib.paper.outputs import OUTPUTS
from starlib.util.damaged import read_results_csv

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
    7: f"Table 7. ST-SR ({OUTPUTS['sr_mid'].symbol})",
    8: f"Table 8. S-SR ({OUTPUTS['sr_t'].symbol})",
    9: "Table 9. T-SR at the original resolution",
    10: f"Table 10. T-SR on S-LR frames ({OUTPUTS['lr_mid'].symbol})",
}
#: What ``tables.tex`` needs in the preamble of the document that inputs it.
LATEX_PACKAGES = ("booktabs", "graphicx")
#: Plain-text tokens and their LaTeX (math where the paper uses math); everything else is escaped.
LATEX_TOKENS: dict[str, str] = {
    "->": r"$\rightarrow$", "±": r"$\pm$", "Δ": r"$\Delta$", "L_f": r"$L_f$", "L_r": r"$L_r$",
    "Net_S": r"Net$_S$", "T_HR": r"T$_\mathrm{HR}$", "T_LR": r"T$_\mathrm{LR}$", "4x": r"4$\times$",
    "2x": r"2$\times$", **{o.symbol: f"${o.latex}$" for o in OUTPUTS.values() if "_" in o.symbol},
}
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_LATEX_PATTERN = re.compile("|".join(re.escape(t) for t in sorted(LATEX_TOKENS, key=len, reverse=True)))


def latex_text(text: str) -> str:
    """Plain text (method names, titles, notes) as LaTeX: the paper's symbols in math mode, specials escaped."""
    out, pos = [], 0
    for m in _LATEX_PATTERN.finditer(text):
        out.append("".join(_LATEX_SPECIAL.get(ch, ch) for ch in text[pos:m.start()]))
        out.append(LATEX_TOKENS[m.group()])
        pos = m.end()
    out.append("".join(_LATEX_SPECIAL.get(ch, ch) for ch in text[pos:]))
    return "".join(out)


def output_symbol(name: str) -> str:
    return OUTPUTS[name].symbol if name in OUTPUTS else name


def _cell(row: pd.Series, digits: int) -> str:
    if pd.isna(row.get("mean")):
        return "-"
    half = (row["ci95_high"] - row["ci95_low"]) / 2 if pd.notna(row["ci95_high"]) else np.nan
    return f"{row['mean']:.{digits}f}" + (f" ± {half:.{digits}f}" if pd.notna(half) else "")


def interval_digits(low: float, high: float, digits: int = 2, most: int = 4) -> int:
    """Decimals that show an interval: ``digits``, or more (up to ``most``) while its (non-zero) half-width would round
    to zero, so that a tight interval prints as [+0.003, +0.007] rather than [+0.00, +0.01]."""
    half = abs(high - low) / 2 if pd.notna(low) and pd.notna(high) else np.nan
    while digits < most and pd.notna(half) and 0 < half < 0.5 * 10 ** -digits:
        digits += 1
    return digits


def _delta(mean: float, low: float, high: float) -> str:
    """A paired difference with its 95% interval, with :func:`interval_digits` decimals."""
    d = interval_digits(low, high)
    return f"{mean:+.{d}f}" + (f" [{low:+.{d}f}, {high:+.{d}f}]" if pd.notna(low) else "")


def _digits(metric: str) -> int:
    return 3 if metric in ("ssim", "ssim_y", "ssim_wang") else 2


def _row_groups(summary: pd.DataFrame):
    """(method, data set, output) groups of a summary; rows not run are grouped by the paper's data set."""
    summary = summary.assign(dataset=summary["dataset"].fillna(""), paper_dataset=summary["paper_dataset"].fillna(""))
    shown = summary["dataset"].where(summary["status"] == "run", summary["paper_dataset"])
    summary = summary.assign(shown=shown)
    for (method, dataset, output), g in summary.groupby(["method", "shown", "output"], sort=False):
        yield (method, dataset, output), g
def _table_lines(summary: pd.DataFrame, table: int) -> tuple[list[str], list[list[str]]]:
    """Header and rows (plain text cells) of one table: a line per (method, dataset, output) with the shown
    metrics (mean ± 95% CI half-width), the paired PSNR difference to the reference row with its interval,
    and the paper's values."""
    metrics = SHOWN_METRICS.get(table, ("psnr", "ssim"))
    head = ["method", "data", "output"] + [m.upper() for m in metrics] + ["Δ PSNR vs ref [95% CI]",
                                                                           "paper PSNR", "paper SSIM",
                                                                           "paper data", "paper Δ PSNR"]
    rows = []
    references = set(summary["reference_method"].dropna()) if "reference_method" in summary else set()
    for (method, dataset, output), g in _row_groups(summary):
        by = {m: g[g.metric == m].iloc[0] for m in set(g.metric)}
        p = by.get("psnr")
        if p is not None and str(p["status"]) != "run":
            cells = [str(p["status"])] + [""] * (len(metrics) - 1) + [""]
        else:
            cells = [_cell(by[m], _digits(m)) if m in by else "-" for m in metrics]
            if p is not None and pd.notna(p.get("delta_vs_reference")):
                cells.append(_delta(p["delta_vs_reference"], p["delta_ci95_low"], p["delta_ci95_high"]))
            else:
                cells.append("ref" if method in references else "")
        s = by.get("ssim")
        paper = [f"{p['paper_reported']:.3f}" if p is not None and pd.notna(p["paper_reported"]) else "",
                 f"{s['paper_reported']:.3f}" if s is not None and pd.notna(s["paper_reported"]) else "",
                 str(p["paper_dataset"]) if p is not None and pd.notna(p["paper_dataset"]) else "",
                 f"{p['paper_delta_vs_reference']:+.2f}" if p is not None and pd.notna(p.get("paper_delta_vs_reference")) else ""]
        label = method + (f" ({p['paper_method']})" if p is not None and p["paper_method"] and p["paper_method"] != method else "")
        ran = p is None or str(p["status"]) == "run"
        rows.append([label, str(dataset or "-") if ran else "-", output_symbol(output)] + cells + paper)
    return head, rows


def render_markdown(summary: pd.DataFrame, table: int) -> str:
    """One Markdown table (see :func:`_table_lines`)."""
    head, rows = _table_lines(summary, table)
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


#: The paper's columns are the last four of :func:`_table_lines`' header; LaTeX sets them as a second tabular.
PAPER_COLUMNS = 4
#: The tabulars' font and column gap: legible when a table is shrunk to the text width of a two-column paper
#: (tests/test_render.py compiles tables.tex and keeps the effective size at 6 pt or more).
LATEX_FONT = r"\footnotesize\setlength{\tabcolsep}{4pt}"


def _tabular(head: list[str], rows: list[list[str]], n_left: int) -> list[str]:
    """A booktabs tabular, shrunk to the line width only when it is wider (never enlarged)."""
    spec = "l" * n_left + "c" * (len(head) - n_left)
    return [r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%", r"\begin{tabular}{" + spec + "}",
            r"\toprule", " & ".join(latex_text(h) for h in head) + r" \\", r"\midrule",
            *(" & ".join(latex_text(c) for c in r) + r" \\" for r in rows), r"\bottomrule", r"\end{tabular}}"]


def render_latex(summary: pd.DataFrame, table: int, caption: str = "", label: str = "") -> str:
    """One ``table*`` float (the full text width of a two-column paper): caption (LaTeX numbers it, so the text
    starts after "Table N."), label, and two booktabs tabulars at :data:`LATEX_FONT`, shrunk to the width only
    when wider: our columns (the Markdown table's, 95% intervals included), then the paper's values of the
    rows it reports."""
    head, rows = _table_lines(summary, table)
    text = re.sub(r"^Table \d+\.\s*", "", caption or TITLES.get(table, ""))
    lines = [r"\begin{table*}[tbp]", r"\centering", r"\caption{" + latex_text(text) + "}"]
    if label:
        lines.append(r"\label{" + label + "}")
    ours = len(head) - PAPER_COLUMNS
    lines += [LATEX_FONT, *_tabular(head[:ours], [r[:ours] for r in rows], 3)]
    reported = [r[:3:2] + r[ours:] for r in rows if any(r[ours:])]
    if reported:
        lines += [r"\par\medskip", r"\textit{" + latex_text("Reported by the paper") + "}", r"\par\smallskip",
                  *_tabular(["method", "output", *head[ours:]], reported, 2)]
    lines.append(r"\end{table*}")
    return "\n".join(lines)


def render_all(results_dir: str | Path) -> tuple[str, str]:
    """``tables.md`` and ``tables.tex`` text for every ``table<N>.csv`` in ``results_dir``."""
    results_dir = Path(results_dir)
    md, tex = [], []
    found = sorted((int(m.group(1)), p) for p in results_dir.glob("table*.csv")
                   if (m := re.fullmatch(r"table(\d+)\.csv", p.name)))
    for table, path in found:
        summary = read_results_csv(path, keep_default_na=True)
        summary["paper_method"] = summary["paper_method"].fillna("")
        prov = summary.iloc[0]
        where = (f"profile `{prov['profile']}`, commit `{prov['git_commit']}`, seed {prov['seed']}, "
                 f"{prov['n_items']} test items ({prov['data']}), created {prov['created_utc']}")
        title = TITLES.get(table, f"Table {table}")
        md.append(f"## {title}\n\n{where}\n\n{render_markdown(summary, table)}\n")
        references = sorted(set(summary["reference_method"].dropna()))
        ref = f"the reference row, {' / '.join(references)} (ref)" if references else "the reference row"
        caption = (f"{title} (regenerated: profile {prov['profile']}, commit {prov['git_commit']}, "
                   f"{prov['n_items']} test items). Mean ± 95% CI half-width; Δ: paired PSNR difference to {ref}.")
        tex.append(render_latex(summary, table, caption, f"tab:starnet-repro-{prov['profile']}-table{table}") + "\n")
    preamble = (f"% Needs \\usepackage{{{','.join(LATEX_PACKAGES)}}} in the document preamble; "
                f"\\input this file where the tables go.\n% Each table is a table* sized for the text width of a "
                f"two-column paper (wider tabulars are shrunk to it).\n")
    return "\n".join(md), preamble + "\n".join(tex)


