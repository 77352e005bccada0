"""tables.tex is LaTeX a paper can \\input as is: math-mode symbols, one captioned, labelled table per table,
widths that fit the column, the confidence intervals; checked by compiling it with a real pdflatex."""

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from starlib.study.tables.entries import Entry, reported_entry, write_table
from starlib.study.tables.render import LATEX_PACKAGES, interval_digits, latex_text, render_all
from starlib.study.setup.workspace import Workspace

PROV = {"profile": "smoke", "seed": 1, "git_commit": "abc123-dirty", "data": "d_1 & 50%", "n_items": 0,
        "wall_time_s": 0.0, "created_utc": "now", "torch_version": "t", "device": "cpu"}


def _items(values, output="sr_t", dataset="ucf101"):
    return pd.DataFrame({"dataset": dataset, "item": [str(i) for i in range(len(values))], "output": output,
                         "psnr": values, "ssim": [0.9] * len(values)})


@pytest.fixture()
def results(tmp_path):
    ws = Workspace.create("smoke", results_dir=tmp_path)
    rng = np.random.default_rng(0)
    base = rng.normal(30, 1, 20)
    long = "a very long method name -> with arrows, L_f and Net_S_alone & 100% specials #1 " * 2
    write_table(ws, 8, [Entry("RBPN", _items(base), "RBPN"), Entry(long, _items(base + 0.3), "STAR-S"),
                        reported_entry("DAIN", ("sr_t",))], PROV, reference="RBPN")
    write_table(ws, 7, [Entry("RBPN -> flow interp.", _items(base, "sr_mid"), "RBPN -> DAIN"),
                        Entry("STAR-ST", _items(base + 0.1, "sr_mid"), "STAR-ST-L_r")], PROV,
                reference="RBPN -> flow interp.")
    return ws.results


def test_latex_text_puts_symbols_in_math_and_escapes_the_rest():
    assert latex_text("I_t+^sr of STAR-T_HR -> 4x, 5% & #2") == \
        r"$I_{t+}^{sr}$ of STAR-T$_\mathrm{HR}$ $\rightarrow$ 4$\times$, 5\% \& \#2"
    assert latex_text("a_b {c} ~ ^") == r"a\_b \{c\} \textasciitilde{} \textasciicircum{}"


def test_tables_tex_has_one_captioned_labelled_table_each_with_the_intervals(results):
    md, tex = render_all(results)
    assert tex.count(r"\begin{table*}") == tex.count(r"\caption{") == tex.count(r"\label{") == 2
    assert r"\caption{Table" not in tex                       # LaTeX numbers it: no "Table 8: Table 8."
    assert "to the reference row, RBPN (ref)" in tex and r"& ref \\" in tex    # the reference row is named
    assert "| ref |" in md
    assert r"\label{tab:starnet-repro-smoke-table8}" in tex and "95\\% CI" in tex
    assert all(p in tex.splitlines()[0] for p in LATEX_PACKAGES)
    assert "+0.30 [" in tex and "+0.30 [" in md             # the paired difference with its interval, in both


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex not installed (apt-get install texlive-latex-base texlive-latex-recommended)")
@pytest.mark.parametrize("source", ["fixture", "committed cpu"])
def test_tables_tex_compiles_without_errors_or_overfull_boxes_at_a_legible_size(results, tmp_path, source):
    """Both compile; in a two-column paper every tabular of the committed study, shrunk to the text width where
    wider, keeps its footnotesize (8 pt) text at 6 pt or more (natural widths measured by LaTeX itself; the
    fixture's deliberately absurd method name is exempt)."""
    from starlib.util.paths import REPO_ROOT

    _, tex = render_all(results if source == "fixture" else REPO_ROOT / "results" / "cpu")
    (tmp_path / "tables.tex").write_text(tex)
    measure = (r"\let\origresizebox\resizebox\renewcommand{\resizebox}[3]{\sbox0{#3}\typeout{NATURAL \the\wd0"
               r"\space LINE \the\linewidth}\origresizebox{#1}{#2}{\usebox0}}")
    (tmp_path / "doc.tex").write_text("\\documentclass[twocolumn]{article}\n\\usepackage{" + ",".join(LATEX_PACKAGES)
                                      + "}\n" + measure + "\n\\begin{document}\n\\input{tables.tex}\n\\end{document}\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert run.returncode == 0, log[-3000:]
    assert "Overfull" not in log and "\n!" not in log, log[-3000:]
    widths = [(float(a), float(b)) for a, b in re.findall(r"NATURAL ([\d.]+)pt\s*LINE ([\d.]+)pt", log)]
    assert len(widths) >= 2
    assert source == "fixture" or all(8 * min(1.0, line / natural) >= 6 for natural, line in widths), widths


def test_paired_differences_get_the_decimals_their_interval_needs():
    assert interval_digits(0.10, 0.30) == 2                 # half-width 0.1: two decimals show it
    assert interval_digits(0.003, 0.007) == 3               # would print [+0.00, +0.01]
    assert interval_digits(-0.0002, 0.0004) == 4            # would print [-0.000, +0.000]
    assert interval_digits(0.1, 0.1000001) == 4             # at most four
    assert interval_digits(0.5, 0.5) == 2                   # an exact difference needs none
    assert interval_digits(np.nan, np.nan) == 2


def test_tables_md_shows_a_tight_interval_with_enough_decimals(tmp_path):
    ws = Workspace.create("smoke", results_dir=tmp_path, figures_dir=tmp_path)
    base = np.linspace(25, 30, 12)
    entries = [Entry("ours", _items(base + 0.004 + 0.003 * np.sin(np.arange(12)))), Entry("ref", _items(base))]
    write_table(ws, 8, entries, PROV, reference="ref")
    md, _ = render_all(ws.results)
    line = next(l for l in md.splitlines() if l.startswith("| ours"))
    assert re.search(r"\| \+0\.00\d \[\+0\.00\d, \+0\.00\d\] \|", line), line   # not +0.00 [+0.00, +0.01]
