"""The package's layers: each folder imports only folders of lower layers (and itself), never upward or sideways."""

import ast
from pathlib import Path

import pytest

import starlib
from starlib.study.setup.workspace import Workspace
from starlib.util.paths import REPO_ROOT

PACKAGE = Path(starlib.__file__).resolve().parent
#: Layer of each top-level part of starlib (lower layers know nothing of higher ones).
LAYERS = {"util": 0, "paper": 1, "models": 2, "metrics": 2, "flow": 3, "published": 3, "data": 4, "train": 5, "evaluation": 5,
          "infer": 6, "study": 7, "cli": 8, "__main__": 9, "__init__": 0}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("starlib"):
            found.add(node.module if "." in node.module else f"starlib.{node.names[0].name}")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("starlib.")}
    return found


def test_every_part_of_the_package_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.is_dir() and (p / "__init__.py").is_file()) or p.suffix == ".py"}
    assert parts == set(LAYERS), f"parts without a layer: {parts - set(LAYERS)}; stale: {set(LAYERS) - parts}"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_import_only_lower_layers(path: Path):
    rel = path.relative_to(PACKAGE)
    part = rel.parts[0] if len(rel.parts) > 1 else rel.stem
    for module in _imports(path):
        other = _part(module)
        if other == part:
            continue
        assert LAYERS[other] < LAYERS[part], f"starlib/{rel} ({part}, layer {LAYERS[part]}) imports {module} " \
                                             f"({other}, layer {LAYERS[other]})"


def test_workspace_paths_hold_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ws = Workspace.create("smoke")
    assert ws.results == REPO_ROOT / "results" / "smoke" and ws.figures == REPO_ROOT / "figures" / "smoke"
    assert ws.runs == REPO_ROOT / "runs" / "smoke" and ws.cache == REPO_ROOT / "cache"
    assert ws.flows.root == REPO_ROOT / "cache" / "flows" and ws.flows.backend == ws.profile.flow.backend
    rel = Workspace.create("smoke", results_dir="elsewhere", runs_dir=str(tmp_path / "r"))
    assert rel.results == REPO_ROOT / "elsewhere" / "smoke" and rel.runs == tmp_path / "r" / "smoke"


def test_regenerated_outputs_do_not_make_the_commit_dirty_but_code_does(tmp_path):
    import subprocess
    from starlib.util.provenance import git_commit
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)   # noqa: E731
    run("init", "-q")
    for name in ("results/cpu/table1.csv", "figures/cpu/f.png", "starlib/x.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("a")
    run("add", "-A")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    clean = git_commit(tmp_path)
    assert clean and not clean.endswith("-dirty")
    (tmp_path / "results/cpu/table1.csv").write_text("b")
    (tmp_path / "figures/cpu/f.png").write_text("b")
    assert git_commit(tmp_path) == clean
    (tmp_path / "starlib/x.py").write_text("b")
    assert git_commit(tmp_path) == clean + "-dirty"


#: Floors of starlib/train: what a run is, its saved state, its folder, the loop, the entry point.
TRAIN_FLOORS = {"init": 0, "losses": 0, "run": 1, "run_state": 2, "run_folder": 3, "loop": 4, "trainer": 5,
                "__init__": 6}


def test_the_trainer_parts_import_only_lower_floors():
    folder = PACKAGE / "train"
    assert {p.stem for p in folder.glob("*.py")} == set(TRAIN_FLOORS)
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        siblings = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}
        siblings |= {n.module.rsplit(".", 1)[-1] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                     and n.level == 0 and (n.module or "").startswith("starlib.train.")}
        for other in siblings:
            assert TRAIN_FLOORS[other] < TRAIN_FLOORS[path.stem], f"starlib/train/{path.name} imports {other}"


def test_the_training_loop_fits_on_a_screen():
    import inspect
    from starlib.train.loop import train_locked
    lines = inspect.getsource(train_locked).splitlines()
    assert len(lines) <= 50, f"starlib.train.loop.train_locked has {len(lines)} lines; keep the loop on one screen"
    assert len(inspect.signature(train_locked).parameters) <= 5


#: Wings of starlib/study, lowest first: each imports only the wings below it (and itself), the pipeline on top.
STUDY_WINGS = {"__init__": 0, "setup": 1, "trainings": 2, "tables": 3, "report": 4, "pipeline": 5}


def _study_wings_imported(path: Path) -> set[str]:
    """The wings (or top-level modules) of starlib/study that ``path`` imports, relative imports resolved."""
    package = ["starlib", *path.relative_to(PACKAGE).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [module + "." + a.name for a in node.names] if module == "starlib.study" else [module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n.split(".")[2] for n in names if n.startswith("starlib.study.")}
    return found


def test_the_study_shows_its_wings_and_each_imports_only_lower_wings():
    folder = PACKAGE / "study"
    parts = {p.stem if p.is_file() else p.name for p in folder.iterdir()
             if (p.is_dir() and (p / "__init__.py").is_file()) or p.suffix == ".py"}
    assert parts == set(STUDY_WINGS), f"study parts without a wing: {parts - set(STUDY_WINGS)}"
    for path in folder.rglob("*.py"):
        rel = path.relative_to(folder)
        wing = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for other in _study_wings_imported(path) - {wing}:
            assert STUDY_WINGS[other] < STUDY_WINGS[wing], f"starlib/study/{rel} ({wing}) imports the {other} wing"
