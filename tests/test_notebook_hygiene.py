"""Outputs never reach the tracked notebooks nor the provenance: git's clean filter (registered by `make venv`,
named in .gitattributes) strips them, and git_commit() ignores a notebook whose only change is its outputs.
(`make lab` saves notebooks without outputs in the first place: tests/test_lab_save.py.)"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from starlib.util.notebooks import clean_notebook, same_when_clean
from starlib.util.paths import REPO_ROOT
from starlib.util.provenance import git_commit

BOOK = "notebooks/13_interactive_comparison.ipynb"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


def _repo(tmp_path: Path, with_filter: bool) -> Path:
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / BOOK).write_bytes((REPO_ROOT / BOOK).read_bytes())
    (repo / "code.py").write_text("x = 1\n")
    (repo / ".gitattributes").write_text((REPO_ROOT / ".gitattributes").read_text())
    _git(repo, "init", "-q")
    if with_filter:
        _git(repo, "config", "filter.nbclean.clean", f"{sys.executable} {REPO_ROOT / 'tools' / 'nbtools.py'} clean")
        _git(repo, "config", "filter.nbclean.smudge", "cat")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "init")
    return repo


def _run_all_in_jupyterlab(path: Path) -> None:
    """What JupyterLab's autosave writes after Run All: outputs, counts, ids, its metadata."""
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"c{i}"
        if cell["cell_type"] == "code":
            cell["execution_count"] = i + 1
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hello\n"]}]
            cell["metadata"]["scrolled"] = True
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.7"}
    nb["nbformat_minor"] = 5
    path.write_text(json.dumps(nb, indent=1))


def _edit_source(path: Path) -> None:
    nb = json.loads(path.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["source"] = list(code["source"]) + ["\n# changed"]
    path.write_text(json.dumps(nb, indent=1))


@pytest.mark.parametrize("with_filter", [True, False], ids=["git filter", "no filter"])
def test_a_jupyterlab_session_leaves_a_clean_commit_and_a_real_edit_does_not(tmp_path, monkeypatch, with_filter):
    monkeypatch.delenv("STARLIB_GIT_COMMIT", raising=False)
    repo = _repo(tmp_path, with_filter)
    head = _git(repo, "rev-parse", "--short=12", "HEAD").strip()
    _run_all_in_jupyterlab(repo / BOOK)
    assert git_commit(repo) == head
    if with_filter:              # nothing to commit: git diff is empty, and `git add` stages the clean notebook
        assert _git(repo, "diff", "HEAD") == ""
        _git(repo, "add", BOOK)
        assert _git(repo, "status", "--porcelain") == "" and "hello" not in _git(repo, "show", f":{BOOK}")
        assert git_commit(repo) == head
    _edit_source(repo / BOOK)                         # a change of code is a change, outputs or not
    assert git_commit(repo) == head + "-dirty"
    _git(repo, "checkout", "--", BOOK)
    assert git_commit(repo) == head
    (repo / "code.py").write_text("x = 2\n")
    assert git_commit(repo) == head + "-dirty"


def test_clean_drops_what_a_session_adds_and_nothing_else():
    text = (REPO_ROOT / BOOK).read_text()
    nb = json.loads(text)
    assert clean_notebook(json.loads(text)) == nb                     # committed notebooks are clean already
    assert same_when_clean(text, text.replace('"outputs": []', '"outputs": [{"output_type": "stream", '
                                              '"name": "stdout", "text": ["x"]}]', 1))
    assert not same_when_clean(text, text.replace("import", "import  ", 1))
    assert same_when_clean("not json", "not json") and not same_when_clean("a", "b")


def test_the_clean_filter_passes_through_what_is_not_a_notebook():
    run = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "nbtools.py"), "clean"], input="{broken",
                         capture_output=True, text=True, check=True)
    assert run.stdout == "{broken"


def test_make_registers_the_filter_that_gitattributes_names():
    attributes = (REPO_ROOT / ".gitattributes").read_text()
    name = re.search(r"notebooks/\*\.ipynb filter=(\w+)", attributes).group(1)
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert f"git config filter.{name}.clean" in makefile and "tools/nbtools.py clean" in makefile
    for target in ("venv", "lab", "test", "reproduce"):
        assert re.search(rf"^{target}:.*\bnbfilter\b", makefile, re.M), f"make {target} does not register it"
