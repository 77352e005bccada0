"""Every numbered notebook: committed without outputs, one typed `parameters` cell, runs under `smoke`."""

import ast
from pathlib import Path

import nbformat
import pytest

from starlib.study.pipeline import list_notebooks, plan, run_notebooks

NOTEBOOKS = list_notebooks()
RUNS = plan()   # notebook 02 once per objective, as `make reproduce` runs it


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no numbered notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_and_has_one_typed_parameters_cell(path: Path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} has outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    names = {}
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.AnnAssign), f"{path.name}: parameters must be typed literals"
        try:                                # a literal: a constant, or a negative number such as -1
            names[node.target.id] = ast.literal_eval(node.value)
        except ValueError:
            raise AssertionError(f"{path.name}: {ast.unparse(node)} is not a literal") from None
    assert "profile" in names and names.get("profile") in ("smoke", "cpu", "gpu", "paper")
    for key in ("results_dir", "figures_dir", "runs_dir", "cache_dir"):   # defaults: the repository's folders
        assert names.get(key, "") == "", f"{path.name}: {key} must default to '' (resolved against the repository)"
    # papermill reads each parameter line with its own pattern (`papermill --help-notebook`, the typed
    # injection): a line it cannot parse (e.g. "=" inside the comment) is dropped from what it reports
    import papermill
    assert set(papermill.inspect_notebook(str(path))) == set(names), \
        f"{path.name}: papermill cannot parse every parameter line (keep '=' out of the comments)"


@pytest.fixture(scope="module")
def shared_dirs(tmp_path_factory) -> Path:
    """One results/figures/runs tree for all notebooks, as `make reproduce` has: later notebooks reuse the
    runs of earlier ones, and 12 collects the tables 07-11 wrote."""
    return tmp_path_factory.mktemp("pipeline")


@pytest.mark.slow
@pytest.mark.parametrize("run", RUNS, ids=lambda r: r.name)
def test_notebook_runs_under_smoke(run, shared_dirs: Path):
    path = run.notebook
    results, figures = shared_dirs / "results", shared_dirs / "figures"
    params = {"results_dir": str(results), "figures_dir": str(figures)}
    nb = nbformat.read(path, as_version=4)
    tagged = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    if "runs_dir" in tagged.source:
        params["runs_dir"] = str(shared_dirs / "runs")
    if "cache_dir" in tagged.source:     # flows and per-item scores: never into the repository's cache/
        params["cache_dir"] = str(shared_dirs / "cache")
    before = {p: p.stat().st_mtime_ns for p in [*results.rglob("*"), *figures.rglob("*")] if p.is_file()}
    executed = run_notebooks("smoke", out_dir=shared_dirs / "executed", extra_parameters=params,
                             log=lambda *_: None, runs=[run])
    assert executed[0].is_file()
    saved = nbformat.read(executed[0], as_version=4)   # reads as finished: no widget a headless run cannot draw
    mimes = {m for c in saved.cells if c.cell_type == "code" for o in c.outputs for m in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" not in mimes, f"{path.name}: a widget in the saved copy"
    written = [p for p in [*(results / "smoke").glob("*"), *(figures / "smoke").glob("*.png")]
               if p.is_file() and before.get(p) != p.stat().st_mtime_ns]
    assert written, f"{path.name} wrote no table or figure"


@pytest.mark.slow
def test_claims_notebook_judged_every_claim(shared_dirs: Path):
    """After the table notebooks ran, every claim has a verdict; only the L_f claims may be untested
    (no VGG19 weights here), and every table of the paper was regenerated."""
    import pandas as pd

    from starlib.study.tables.claims import VERDICTS

    out = shared_dirs / "results" / "smoke"
    if not (out / "claims.csv").is_file():
        pytest.skip("run together with the notebook tests")
    claims = pd.read_csv(out / "claims.csv")
    untested = claims[claims.verdict == "not tested"]
    assert set(untested.claim) <= {"T3-lr-psnr-s", "T3-lr-psnr-st", "T3-lf-niqe"}, untested[["claim", "reason"]]
    assert set(claims.verdict) <= set(VERDICTS)
    assert sorted(int(p.stem[5:]) for p in out.glob("table*.csv") if p.stem[5:].isdigit()) == list(range(1, 11))
    tables_md = (out / "tables.md").read_text()
    assert all(f"Table {n}." in tables_md for n in range(1, 11))


@pytest.mark.slow
def test_the_inventory_names_every_run_the_notebooks_trained(shared_dirs: Path):
    """`python -m starlib train --all` (what torchrun runs for GPUS=N) trains exactly the runs the notebooks
    need: after the smoke notebooks, every finished run is in the inventory and every inventory run exists."""
    from starlib.study.trainings.inventory import study_runs
    from starlib.study.trainings.scaling_runs import scaling_runs
    from starlib.study.setup.workspace import Workspace

    runs = shared_dirs / "runs" / "smoke"
    if not runs.is_dir():
        pytest.skip("run together with the notebook tests")
    made = {p.parent.name for p in runs.glob("*/model.pt")}
    ws = Workspace.create("smoke", runs_dir=shared_dirs / "runs", progress=False)
    listed = {name for name, _ in study_runs(ws)} | {run[0] for run in scaling_runs(ws)}   # notebook 15's budgets
    assert made == listed, {"trained but not listed": sorted(made - listed), "listed but not trained": sorted(listed - made)}
