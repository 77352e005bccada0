"""A missing shipped run is never trained silently: at a profile that ships runs (cpu), a run whose shipped
model.pt is gone is refused with one error naming the file, the `git checkout` that restores it, every run that
would be trained and the expected time (from the shipped logs), unless training is allowed (the notebooks'
allow_training, `make reproduce ALLOW_TRAINING=1`, the pipeline's --allow-training, `python -m starlib train`).
A profile without shipped runs (smoke) trains as before.
"""

import json
import shutil
import subprocess

import pytest

from starlib.study.trainings import training_runs
from starlib.study.trainings.plans import run_name, stages
from starlib.study.trainings.recipes import Training
from starlib.study.trainings.training_runs import check_training_allowed
from starlib.study.trainings.shipped_runs import TrainingNotAllowed, expected_seconds, shipped_run_names
from starlib.study.setup.workspace import Workspace
from starlib.util.paths import REPO_ROOT, SHIPPED_RUNS_DIR

REAL = SHIPPED_RUNS_DIR / "cpu"


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A stand-in for checkpoints/ holding the cpu runs (their files linked, not copied); the test deletes some."""
    root = tmp_path / "checkpoints"
    for run in REAL.iterdir():
        if run.is_dir() and run.name != "scores":
            (root / "cpu" / run.name).mkdir(parents=True)
            for f in run.iterdir():
                (root / "cpu" / run.name / f.name).symlink_to(f)
    (root / "cpu" / "scores").mkdir()
    shutil.copy(REAL / "scores" / "MANIFEST.json", root / "cpu" / "scores" / "MANIFEST.json")
    monkeypatch.setattr(training_runs, "SHIPPED_RUNS_DIR", root)
    return root


def test_every_shipped_run_is_known_and_has_an_expected_time():
    names = shipped_run_names("cpu")
    assert "STAR-ST-5717d5f670" in names and len(names) >= 8 and shipped_run_names("smoke") == set()
    assert all(expected_seconds("cpu", name, 100) for name in names if (REAL / name / "log.csv").is_file())


def test_a_missing_shipped_model_is_refused_with_what_when_and_how(shipped, tmp_path):
    ws = Workspace.create("cpu", runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    star_st = Training("STAR-ST")
    assert run_name(ws, star_st) == "STAR-ST-5717d5f670"
    check_training_allowed(ws, star_st)                         # everything shipped: nothing to say
    (shipped / "cpu" / "STAR-ST-5717d5f670" / "model.pt").unlink()
    with pytest.raises(TrainingNotAllowed) as info:
        training_runs.train_run(ws, star_st)
    message = str(info.value)
    assert "\n" not in message
    assert "STAR-ST-5717d5f670/model.pt is missing" in message and "1 run(s) would be trained" in message
    assert "STAR-ST-5717d5f670 (300 steps, ~" in message and "git checkout -- " in message
    assert "allow_training=True" in message and "ALLOW_TRAINING=1" in message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*"))   # nothing started
    allowed = Workspace.create("cpu", runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache", allow_training=True)
    check_training_allowed(allowed, star_st)


def test_every_run_upstream_that_would_be_trained_is_listed(shipped, tmp_path):
    ws = Workspace.create("cpu", runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    star_st = Training("STAR-ST")
    for name in ("STAR-ST-5717d5f670", "STAR-58c7b542b4"):
        (shipped / "cpu" / name / "model.pt").unlink()
    with pytest.raises(TrainingNotAllowed) as info:
        check_training_allowed(ws, star_st)
    message = str(info.value)
    assert "STAR-ST-5717d5f670 (300 steps" in message and "STAR-58c7b542b4 (400 steps" in message
    todo = [t for t in stages(ws, star_st) if not (shipped / "cpu" / run_name(ws, t) / "model.pt").is_file()]
    assert len(todo) >= 2 and all(run_name(ws, t) in message for t in todo) and f"{len(todo)} run(s)" in message


def test_a_profile_without_shipped_runs_trains_as_before(tmp_path):
    ws = Workspace.create("smoke", runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    check_training_allowed(ws, Training("STAR-ST"))


def test_a_run_already_in_the_runs_folder_needs_no_permission(shipped, tmp_path):
    ws = Workspace.create("cpu", runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    (shipped / "cpu" / "STAR-ST-5717d5f670" / "model.pt").unlink()
    (tmp_path / "runs" / "cpu" / "STAR-ST-5717d5f670").mkdir(parents=True)
    (tmp_path / "runs" / "cpu" / "STAR-ST-5717d5f670" / "model.pt").symlink_to(REAL / "STAR-ST-5717d5f670" /
                                                                              "model.pt")
    check_training_allowed(ws, Training("STAR-ST"))


def test_the_pipeline_passes_allow_training_only_to_notebooks_that_declare_it(monkeypatch, tmp_path):
    import papermill as pm

    from starlib.study import pipeline

    seen = {}
    monkeypatch.setattr(pm, "execute_notebook", lambda nb, out, parameters, **kw: seen.setdefault(
        nb.rsplit("/", 1)[-1], parameters))
    monkeypatch.setattr(pipeline, "record_times", lambda *a, **k: None)
    pipeline.run_notebooks("smoke", ["00", "02", "13"], tmp_path, extra_parameters={"allow_training": True},
                           log=lambda *a: None)
    assert "allow_training" not in seen["00_networks.ipynb"]
    assert all(p["allow_training"] is True for name, p in seen.items() if not name.startswith("00"))
    assert len(seen) >= 3


def test_make_reproduce_passes_allow_training():
    made = subprocess.run(["make", "--no-print-directory", "-n", "reproduce", "ALLOW_TRAINING=1"], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=True).stdout
    assert "--allow-training" in made.splitlines()[-1]
    made = subprocess.run(["make", "--no-print-directory", "-n", "reproduce"], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=True).stdout
    assert "--allow-training" not in made


def test_notebooks_that_train_declare_allow_training():
    for path in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
        if "runs_dir" in text:
            assert "allow_training: bool = False" in text and "allow_training=allow_training" in text, path.name


def test_the_pipeline_flag_reaches_the_notebooks(monkeypatch):
    from starlib.study import pipeline

    given = []
    monkeypatch.setattr(pipeline, "prepare", lambda *a, **k: None)
    monkeypatch.setattr(pipeline, "run_notebooks", lambda profile, sel, out, **kw: given.append(kw))
    assert pipeline.main(["--profile", "smoke", "--notebooks", "02", "--allow-training"]) == 0
    assert pipeline.main(["--profile", "smoke", "--notebooks", "02"]) == 0
    assert given[0]["extra_parameters"] == {"allow_training": True} and not given[1].get("extra_parameters")
