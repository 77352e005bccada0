"""Every numbered notebook: committed without outputs, one typed `parameters` cell, runs under `smoke`."""

import ast
from pathlib import Path

import nbformat
import pytest

from starlib.pipeline import list_notebooks, run_notebooks

NOTEBOOKS = list_notebooks()


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
        assert isinstance(node.value, ast.Constant), f"{path.name}: {ast.unparse(node)} is not a literal"
        names[node.target.id] = node.value.value
    assert "profile" in names and names.get("profile") in ("smoke", "cpu", "paper")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_under_smoke(path: Path, tmp_path: Path):
    results, figures = tmp_path / "results", tmp_path / "figures"
    params = {"results_dir": str(results), "figures_dir": str(figures)}
    nb = nbformat.read(path, as_version=4)
    tagged = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    if "runs_dir" in tagged.source:
        params["runs_dir"] = str(tmp_path / "runs")
    executed = run_notebooks("smoke", [path.stem], out_dir=tmp_path / "executed", extra_parameters=params,
                             log=lambda *_: None)
    assert executed[0].is_file()
    written = list((results / "smoke").glob("*.csv")) + list((figures / "smoke").glob("*.png"))
    assert written, f"{path.name} wrote no table or figure"
