"""`make report`: a static site of a profile's executed notebooks, with outputs, results and provenance."""

import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from starlib.study.report.site import build_site
from starlib.util.paths import REPO_ROOT


def _executed(folder: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · Networks"),
                                         nbformat.v4.new_code_cell("print(42)")])
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="the answer 42\n")]
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "00_networks.ipynb")


@pytest.fixture
def site(tmp_path):
    _executed(tmp_path / "executed")
    results = tmp_path / "results"
    results.mkdir()
    pd.DataFrame([{"notebook": "00_networks.ipynb", "seconds": 7.2, "git_commit": "40312b5e49f3",
                   "created_utc": "2026-12-01T18:55:14Z", "device": "cpu (x86_64, 2 cores)"},
                  {"notebook": "07_table1_components.ipynb", "seconds": 1490.2, "git_commit": "40312b5e49f3",
                   "created_utc": "2026-12-01T18:55:14Z", "device": "cpu"}]).to_csv(results / "notebook_times.csv",
                                                                                 index=False)
    shutil.copy(REPO_ROOT / "results" / "cpu" / "tables.md", results / "tables.md")
    return build_site("cpu", tmp_path / "site", tmp_path / "executed", results, REPO_ROOT / "figures" / "cpu",
                      REPO_ROOT / "docs" / "results")


def test_the_site_links_only_pages_that_exist_and_shows_outputs_and_provenance(site):
    index = site.read_text()
    links = re.findall(r"(?:href|src)='([^']+)'", index)
    assert {"results.html", "tables.html", "00_networks.html", "figures/claims.png"} <= set(links)
    assert all((site.parent / link).is_file() for link in links)
    assert "40312b5e49f3" in index and "7.2" in index and "07_table1_components.ipynb (not executed here)" in index
    assert "the answer 42" in (site.parent / "00_networks.html").read_text()     # outputs rendered
    assert "<table>" in (site.parent / "results.html").read_text()


def test_a_profile_not_run_yet_says_how_to_run_it(tmp_path):
    text = build_site("smoke", tmp_path / "site", tmp_path / "none", tmp_path / "none", tmp_path / "none",
                      tmp_path / "none").read_text()
    assert "make reproduce PROFILE=smoke" in text


def test_the_site_in_a_real_browser(site, chromium):
    """Clicked through in Chromium where Playwright and a browser are installed (skipped elsewhere)."""
    page = chromium.new_page()
    page.goto(site.as_uri())
    page.click("text=00_networks")
    assert "the answer 42" in page.content()
    page.go_back()
    page.click("text=Results, claims and targets")
    assert "Claims" in page.content()
