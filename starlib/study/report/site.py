"""A static site of one profile's executed study, readable without running anything (``make report``).

    python -m starlib site --profile cpu     # site/cpu/index.html (python -m starlib.study.report.site: an alias)

Pages: ``index.html`` (the claim tally and figure, then one row per executed notebook with its wall time,
commit and date from ``notebook_times.csv``), each executed notebook of ``executed/<profile>/`` as HTML with its
outputs (nbconvert), ``results.html`` (``docs/results/<profile>.md``), ``tables.html`` (``tables.md``), and
the profile's figures. Only what exists is linked; a notebook not executed yet is listed as such. The pages
are self-contained files: open ``index.html`` or serve the folder (``.github/workflows/report.yml``
publishes it from a GitHub repository).
"""

from __future__ import annotations

import argparse
import html
import shutil
from pathlib import Path

from starlib.util.atomic import atomic_write_text
from starlib.util.commands import alias_main
from starlib.util.paths import REPO_ROOT

STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
         "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:2px 6px}"
         "img{max-width:100%}code{background:#f4f4f4}")


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><p><a href='index.html'>starnet-repro</a></p>{body}</body></html>\n")


def _markdown(text: str) -> str:
    from nbconvert.filters.markdown import markdown2html

    return markdown2html(text)


def notebook_html(path: Path) -> str:
    """An executed notebook as one self-contained HTML page (outputs and images embedded)."""
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="classic").from_notebook_node(nbformat.read(path, as_version=4))
    return body


def build_site(profile: str, out: Path | None = None, executed: Path | None = None, results: Path | None = None,
               figures: Path | None = None, docs: Path | None = None) -> Path:
    """Write the site of ``profile`` into ``out`` (default ``site/<profile>``); returns ``index.html``."""
    import pandas as pd

    out = out or REPO_ROOT / "site" / profile
    executed = executed or REPO_ROOT / "executed" / profile
    results = results or REPO_ROOT / "results" / profile
    figures = figures or REPO_ROOT / "figures" / profile
    docs = docs or REPO_ROOT / "docs" / "results"
    out.mkdir(parents=True, exist_ok=True)
    parts = [f"<h1>starnet-repro: the <code>{html.escape(profile)}</code> profile</h1>",
             "<p>The executed study of STARnet (CVPR 2020), rendered from this repository's notebooks and "
             "results; every number carries the commit it was produced at.</p>"]
    page = docs / f"{profile}.md"
    if page.is_file():
        atomic_write_text(out / "results.html", _page(f"results: {profile}", _markdown(page.read_text())))
        parts.append("<p><a href='results.html'>Results, claims and targets</a></p>")
    if (results / "tables.md").is_file():
        atomic_write_text(out / "tables.html", _page(f"tables: {profile}", _markdown((results / "tables.md").read_text())))
        parts.append("<p><a href='tables.html'>The paper's tables, regenerated</a></p>")
    if (figures / "claims.png").is_file():
        (out / "figures").mkdir(exist_ok=True)
        for png in sorted(figures.glob("*.png")):
            shutil.copy2(png, out / "figures" / png.name)
        parts.append("<h2>Claims</h2><img src='figures/claims.png' alt='claim verdicts'>")
    times = (pd.read_csv(results / "notebook_times.csv", dtype={"git_commit": str})
             if (results / "notebook_times.csv").is_file() else pd.DataFrame(columns=["notebook"]))
    recorded = {r["notebook"]: r for r in times.to_dict("records")}
    books = sorted(executed.glob("*.ipynb")) if executed.is_dir() else []
    rows = []
    for book in books:
        target = book.with_suffix(".html").name
        atomic_write_text(out / target, notebook_html(book))
        r = recorded.get(book.name, {})
        rows.append(f"<tr><td><a href='{html.escape(target)}'>{html.escape(book.stem)}</a></td>"
                    f"<td>{r.get('seconds', '')}</td><td><code>{html.escape(str(r.get('git_commit', '')))}</code></td>"
                    f"<td>{html.escape(str(r.get('created_utc', '')))}</td><td>{html.escape(str(r.get('device', '')))}</td></tr>")
    for name in sorted(set(recorded) - {b.name for b in books}):
        rows.append(f"<tr><td>{html.escape(name)} (not executed here)</td><td colspan='4'></td></tr>")
    parts.append("<h2>Notebooks</h2>" + ("<table><tr><th>notebook</th><th>wall time (s)</th><th>commit</th>"
                                         "<th>run (UTC)</th><th>device</th></tr>" + "".join(rows) + "</table>"
                                         if rows else f"<p>No executed notebooks in {html.escape(str(executed))}: "
                                         f"run <code>make reproduce PROFILE={html.escape(profile)}</code> first.</p>"))
    index = out / "index.html"
    atomic_write_text(index, _page(f"starnet-repro: {profile}", "\n".join(parts)))
    return index


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m starlib site``."""
    parser.add_argument("--profile", default="cpu", help="whose executed notebooks (executed/<profile>/) to render")
    parser.add_argument("--out", type=Path, default=None, help="folder (default: site/<profile>)")


def run(args: argparse.Namespace) -> int:
    """Build the site; print its index page."""
    print(f"wrote {build_site(args.profile, args.out)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m starlib.study.report.site``: an alias of ``python -m starlib site`` (same options)."""
    return alias_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
