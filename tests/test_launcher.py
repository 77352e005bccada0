"""Several GPUs (issue 13, item 2): the pipeline trains every run of the study under torchrun first; here two
CPU processes (gloo) stand in for two GPUs."""

import os
import sys

import pytest
import torch

from starlib.models import load_checkpoint
from starlib.study.trainings import plans as P
from starlib.study.trainings import training_runs as TR
from starlib.study.trainings.inventory import study_runs, study_trainings
from starlib.study.pipeline import train_all, train_command
from starlib.study.setup.workspace import Workspace


def test_the_pipeline_builds_one_torchrun_command_for_n_gpus():
    cmd = train_command("paper", 8)
    assert cmd[:5] == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=8"]
    assert cmd[5:] == ["-m", "starlib", "train", "--profile", "paper", "--all"]
    with pytest.raises(ValueError, match="--gpus must be >= 1"):
        train_command("paper", 0)


def test_the_inventory_lists_each_run_once_with_its_stages_first():
    ws = Workspace.create("smoke", progress=False)
    runs = study_runs(ws)
    names = [n for n, _ in runs]
    assert len(names) == len(set(names))
    position = {n: i for i, n in enumerate(names)}
    for name, what in runs:
        for step in P.stages(ws, what)[:-1]:
            assert position[P.run_name(ws, step)] < position[name]
    assert {P.run_name(ws, w) for w in study_trainings(ws)} <= set(names)


@pytest.mark.slow
def test_two_processes_through_the_launcher_train_the_same_run_as_one(tmp_path):
    ws = Workspace.create("smoke", runs_dir=tmp_path / "one", progress=False)
    name, what = next((n, t) for n, t in study_runs(ws) if t.objective == "STAR-S" and t.variant.get("net_s_only"))
    single = TR.train_run(ws, what)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    train_all("smoke", 2, run=name, runs_dir=tmp_path / "two", env=env, log=lambda *_: None)
    two, _ = load_checkpoint(tmp_path / "two" / "smoke" / name / "model.pt")
    assert (tmp_path / "two" / "smoke" / name / "log.csv").read_text().count("\n") == \
        (single.run_dir / "log.csv").read_text().count("\n")
    for k, v in single.model.state_dict().items():
        assert torch.allclose(v, two.state_dict()[k], atol=1e-5, rtol=1e-4), k


def test_the_gpu_check_script_is_valid_bash_and_calls_what_exists():
    import re
    import subprocess
    from starlib.util.paths import REPO_ROOT
    script = REPO_ROOT / "benchmarks" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    for path in re.findall(r"(benchmarks/\w+\.py|tests/\w+\.py)", text):
        assert (REPO_ROOT / path).is_file(), path


@pytest.mark.slow
def test_the_gpu_slice_runs_the_study_path_and_writes_rows_with_provenance(tmp_path):
    """The GPU check's training slice works on any device (here the CPU, at smoke widths)."""
    import importlib.util

    import pandas as pd
    from starlib.util.paths import REPO_ROOT
    spec = importlib.util.spec_from_file_location("gpu_slice", REPO_ROOT / "benchmarks" / "gpu_slice.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "slice.csv"
    assert mod.main(["--profile", "smoke", "--steps", "3", "--items", "2", "--device", "cpu",
                     "--runs-dir", str(tmp_path / "runs"), "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert set(rows.method) == {"Net_S alone (stage a)", "Bicubic"} and (rows.steps == 3).all()
    assert {"git_commit", "device", "profile"} <= set(rows.columns) and (rows.profile == "smoke").all()


def test_the_pipeline_prepares_the_flows_before_any_training_or_notebook(monkeypatch):
    from starlib.study import pipeline

    calls = []
    monkeypatch.setattr(pipeline, "fetch_data", lambda: calls.append(("data",)))
    monkeypatch.setattr(pipeline, "prepare", lambda profile, workers: calls.append(("prepare", profile, workers)))
    monkeypatch.setattr(pipeline, "train_all", lambda profile, gpus: calls.append(("train", profile, gpus)))
    monkeypatch.setattr(pipeline, "run_notebooks", lambda profile, sel, out, **kw: calls.append(("notebooks", profile)))
    assert pipeline.main(["--profile", "smoke", "--gpus", "2", "--flow-workers", "3"]) == 0
    assert calls == [("data",), ("prepare", "smoke", 3), ("train", "smoke", 2), ("notebooks", "smoke")]
    calls.clear()
    assert pipeline.main(["--profile", "smoke", "--flow-workers", "-1"]) == 0
    assert calls == [("data",), ("notebooks", "smoke")]


def test_the_pipeline_without_data_or_a_source_stops_in_one_line_naming_the_fetch(tmp_path, monkeypatch, capsys):
    from starlib.study import pipeline

    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("STARLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("STARLIB_DATA_MIRROR", str(tmp_path / "empty"))
    monkeypatch.setattr(pipeline, "prepare", lambda profile, workers: pytest.fail("ran without data"))
    assert pipeline.main(["--profile", "smoke"]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: data set middlebury is not in ") and "`python -m starlib data fetch middlebury`" in last
