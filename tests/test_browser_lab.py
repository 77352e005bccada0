"""Notebook 13's comparison widget and `make lab`'s save hook in a real JupyterLab, driven in Chromium.

A temporary git repository holds a small notebook that builds the widget on non-learned methods
(tests/compare_fakes.py), each slowed by :data:`METHOD_SECONDS` so that a method rerun shows in the time a redraw
takes. The test runs every cell from JupyterLab's Run menu, changes the sample in the widget, saves a PNG with its
button, saves the notebook with Ctrl+S and checks that git sees no change. Skipped where Playwright
(requirements-browser.txt) or Chromium (apt-get install chromium) is missing."""

import re
import time
from pathlib import Path

import nbformat
import pytest

from lab_server import TOKEN, committed_repo, git, jupyter, processes_using
from starlib.util.notebooks import clean_notebook
from starlib.util.paths import REPO_ROOT

#: What each of the widget's two methods waits per call: a redraw that reruns one takes at least this long.
METHOD_SECONDS = 5.0
NOTEBOOK = "compare_in_lab.ipynb"


def notebook(save_dir: Path) -> bytes:
    """The notebook JupyterLab opens, as the repository commits notebooks: the comparison of the S-SR output on
    two UCF101 samples (only Table 8's methods built, so the background computes nothing but the next sample),
    then a cell that waits for that sample, as a reader who looks at the first one for a while."""
    cells = [
        nbformat.v4.new_markdown_cell("# The comparison widget, opened by tests/test_browser_lab.py"),
        nbformat.v4.new_code_cell(
            "import sys\n"
            f"sys.path.insert(0, {str(REPO_ROOT / 'tests')!r})\n"
            "from compare_fakes import fake_comparison, slowed\n"
            "from starlib.study.report import compare_ui as ui\n\n"
            "comp = fake_comparison(ucf101_items=2)\n"
            f"comp.methods = {{8: {{label: slowed(m, {METHOD_SECONDS}) for label, m in comp.methods[8].items()}}}}\n"
            "w = ui.build_ui(comp, dataset='ucf101', output='sr_t', methods=['Bicubic', 'Bicubic shifted'],\n"
            f"                save_dir={str(save_dir)!r}, output_cache=False)\n"
            "w"),
        nbformat.v4.new_code_cell("w._worker.join()\nprint('next sample computed')"),
    ]
    nb = clean_notebook(nbformat.v4.new_notebook(cells=cells))
    return (nbformat.writes(nb) + "\n").encode()


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a temporary repository holding the notebook (committed clean): (base URL, repository, the
    widget's PNG folder). No kernel is left running afterwards. Requested after ``chromium`` (tests/conftest.py),
    so a test that skips starts no server."""
    save_dir = tmp_path / "png"
    repo = committed_repo(tmp_path / "repo", {NOTEBOOK: notebook(save_dir)})
    env = {"PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}   # this checkout's starlib in the kernel
    with jupyter(repo, "jupyterlab", env=env) as base:
        yield base, repo, save_dir
    assert processes_using(tmp_path / "jupyter-home") == []


def run_all_cells(page) -> None:
    """Run > Run All Cells from JupyterLab's menu bar, once the kernel is idle and the notebook has the focus."""
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle")
    page.click(".jp-Notebook .jp-CodeCell .jp-InputPrompt >> nth=0")
    page.click(".lm-MenuBar-item:has-text('Run')")
    page.click(".lm-Menu-item:has-text('Run All Cells')")


def view(page) -> dict:
    """What the widget shows: its image (data URL), status line and metrics table (rows of cell texts, and the
    (row, column) of the cells shown in bold)."""
    return page.evaluate("""() => {
        const img = document.querySelector('.widget-output img');
        const status = [...document.querySelectorAll('.widget-html-content')].map(e => e.innerText)
            .find(t => t.includes('zoom box') || t.includes('saved') || t.includes('running')) || '';
        const table = document.querySelector('.widget-output table');
        const head = table ? [...table.querySelectorAll('thead th')].slice(1).map(th => th.innerText) : [];
        const rows = table ? [...table.querySelectorAll('tbody tr')].map(
            tr => [...tr.querySelectorAll('td')].map(td => td.innerText)) : [];
        const bold = table ? [...table.querySelectorAll('tbody tr')].flatMap((tr, r) =>
            [...tr.querySelectorAll('td')].flatMap((td, c) =>
                parseInt(getComputedStyle(td).fontWeight) >= 600 ? [[r, head[c]]] : [])) : [];
        return {image: img ? img.src : null, status, head, rows, bold};
    }""")


def wait_for_view(page, sample: str, old_image: str | None = None, timeout_ms: int = 120_000) -> dict:
    """The widget's view once it shows ``sample`` everywhere: status line, table and a new image."""
    page.wait_for_function("""([sample, old]) => {
        const img = document.querySelector('.widget-output img');
        const status = [...document.querySelectorAll('.widget-html-content')].map(e => e.innerText).join('|');
        const cells = [...document.querySelectorAll('.widget-output table tbody td')].map(td => td.innerText);
        return img && img.src !== old && status.includes('/' + sample + ', ') && status.includes('zoom box')
            && cells.length > 0 && cells[1] === sample;
    }""", arg=[sample, old_image], timeout=timeout_ms)
    return view(page)


@pytest.mark.slow
def test_the_comparison_answers_in_jupyterlab_and_saving_keeps_the_notebook_clean(chromium, lab):
    base, repo, save_dir = lab
    book = repo / "notebooks" / NOTEBOOK
    committed = book.read_bytes()
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{base}/lab/tree/notebooks/{NOTEBOOK}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell")
    run_all_cells(page)

    sample = page.locator(".widget-dropdown:has(label:text-is('sample')) select")
    sample.locator("option").nth(1).wait_for(state="attached", timeout=120_000)
    first, second = [o.get_attribute("value") for o in sample.locator("option").all()]
    shown = wait_for_view(page, first)
    # the zoom box, the seconds and the best value of each column (the inputs are drawn in the image)
    for label in ("zoom x", "zoom y", "zoom size", "worst crop", "save PNG"):
        assert page.locator(".jupyter-widgets").get_by_text(label, exact=True).first.is_visible(), label
    assert re.search(r"zoom box y=\d+ x=\d+ size=\d+; best value of each column in bold", shown["status"])
    assert shown["head"][:3] == ["method", "sample", "output"] and shown["head"][-1] == "seconds"
    methods = [row[0] for row in shown["rows"]]
    assert methods == ["Bicubic", "Bicubic shifted"]
    seconds = [float(row[-1]) for row in shown["rows"]]
    assert all(s >= METHOD_SECONDS for s in seconds)             # each method's measured time on the sample
    bold = {column: methods[row] for row, column in shown["bold"]}              # one bold cell per column
    assert sorted(column for _, column in shown["bold"]) == sorted(shown["head"][3:])
    assert bold["psnr"] == bold["ssim"] == "Bicubic"                            # the unshifted one is better

    page.locator(".jp-OutputArea-output:has-text('next sample computed')").wait_for(timeout=120_000)
    start = time.perf_counter()
    sample.select_option(second)
    redrawn = wait_for_view(page, second, shown["image"], timeout_ms=60_000)
    redraw = time.perf_counter() - start
    print(f"redraw after a sample change: {redraw:.2f} s (a method takes {METHOD_SECONDS} s)")
    # computed ahead: from memory, faster than one method call (a rerun of either method takes longer)
    assert redraw < METHOD_SECONDS, f"the redraw took {redraw:.1f} s: a method ran again"
    assert [row[0] for row in redrawn["rows"]] == methods and redrawn["image"] != shown["image"]

    page.click("button:has-text('save PNG')")
    page.wait_for_function("() => [...document.querySelectorAll('.widget-html-content')]"
                           ".some(e => e.innerText.startsWith('saved '))")
    png = Path(re.search(r"saved (\S+\.png)", view(page)["status"]).group(1))
    assert png.parent == save_dir and png.name.startswith(f"ucf101_{second}_sr_t_")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    before = book.stat().st_mtime_ns
    assert page.locator(".jp-Notebook .jp-OutputArea-output img").count() >= 1   # outputs in the open tab
    page.click(".jp-Notebook .jp-CodeCell .jp-InputPrompt >> nth=0")
    page.keyboard.press("Control+s")
    page.wait_for_selector(".lm-TabBar-tab.jp-mod-dirty", state="detached")
    deadline = time.monotonic() + 30
    while book.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert book.stat().st_mtime_ns != before, "Ctrl+S did not save the notebook"
    page.close()
    assert book.read_bytes() == committed                         # saved as committed: no outputs
    assert git(repo, "status", "--porcelain") == ""
