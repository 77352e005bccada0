"""A profile's ``[released]`` files: the authors' STARnet weights stand in for an objective's training in the rows
that score that objective's network (Tables 2, 7-10, ZSM). The files are built here in the authors' format (the
documented key map, tests/test_import_official.py) at tiny widths: ``STARConfig.paper`` is patched to the tiny
config, so the import infers and builds them as it would the paper-width files."""

from __future__ import annotations

import hashlib
import tomllib

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import tiny_config
from starlib.data.sources import Window
from starlib.models import STARConfig, STARnet
from starlib.models.official import VARIANTS, WEIGHTS_LABEL
from starlib.study.trainings import released
from starlib.study.tables import entries, table_zsm
from starlib.study.tables.entries import table_rows, trained_entry
from starlib.study.setup.profile import PROFILE_DIR, parse_profile
from starlib.study.trainings.recipes import Training
from starlib.study.setup.workspace import Workspace
from starlib.util.config import ConfigError
from test_import_official import authors_name

ST_FILE = "FBPNSR_RBPN_V4_REF_Lr_STAR_ST.pth"


@pytest.fixture
def tiny_paper(monkeypatch):
    """The authors' files are read at tiny widths (a paper-width file would be 111.6 M parameters)."""
    monkeypatch.setattr(STARConfig, "paper", classmethod(lambda cls, **kw: tiny_config(**kw)))


def authors_file(path, variant="V4_REF", seed=0):
    torch.manual_seed(seed)
    net = STARnet(tiny_config(**VARIANTS[variant]))
    torch.save({authors_name(k, variant): v for k, v in net.state_dict().items()}, path)
    return net


def workspace(tmp_path, files):
    data = tomllib.loads((PROFILE_DIR / "smoke.toml").read_text())
    data["released"] = {k: str(v) for k, v in files.items()}
    prof = parse_profile("smoke", data, tmp_path / "smoke.toml")
    return Workspace.create(prof, runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache", progress=False)


def tiny_bench(tmp_path):
    """One triplet of 32x32 frames (8x8 LR): the tiny network scores it in well under a second."""
    rng = np.random.default_rng(0)
    frames = []
    for i in range(3):
        frames.append(tmp_path / f"frame{i}.png")
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(frames[-1])
    return {"ucf101": [Window("tiny", tuple(frames))]}


def no_training(*_args, **_kwargs):
    raise AssertionError("trained although the profile names the authors' file")


def test_a_released_file_is_imported_once_scored_untrained_and_labelled(tmp_path, tiny_paper, monkeypatch):
    theirs = authors_file(tmp_path / ST_FILE)
    ws = workspace(tmp_path, {"STAR-ST": tmp_path / ST_FILE})
    monkeypatch.setattr(entries, "train_plan", no_training)
    bench = tiny_bench(tmp_path)
    e = trained_entry(ws, "STAR-ST", Training("STAR-ST"), bench, ("sr_t",), note="here: L_r", released=True)

    digest = hashlib.sha256((tmp_path / ST_FILE).read_bytes()).hexdigest()
    run_dir = ws.runs / f"STAR-ST-authors-{digest[:8]}"
    assert e.run.run_dir == run_dir and {p.name for p in run_dir.iterdir()} == {"model.pt", "config.json"}
    assert e.run.model.cfg == tiny_config(**VARIANTS["V4_REF"]) != ws.profile.model    # from the file, not [model]
    assert all(torch.equal(v, e.run.model.state_dict()[k]) for k, v in theirs.state_dict().items())
    row = table_rows(2, [e]).iloc[0]
    assert row["note"] == f"{WEIGHTS_LABEL} ({ST_FILE}), not trained here"
    assert row["info_setup"].startswith(f"{WEIGHTS_LABEL}: {ST_FILE} (sha256 {digest[:8]}")
    assert row["info_source_sha256"] == digest and row["info_train_steps"] == 0 and row["n"] == 1

    def no_import(*_args, **_kwargs):
        raise AssertionError("imported again")
    monkeypatch.setattr(released, "import_official", no_import)
    model_mtime = (run_dir / "model.pt").stat().st_mtime_ns
    again = trained_entry(ws, "STAR-ST", Training("STAR-ST"), bench, ("sr_t",), released=True)
    assert again.run.run_dir == run_dir and (run_dir / "model.pt").stat().st_mtime_ns == model_mtime

    monkeypatch.setattr(table_zsm, "train_run", no_training)        # Table ZSM's STAR-ST row: the same run
    (zsm,) = table_zsm.build_methods(ws, [table_zsm.Z.STAR_ST])
    assert zsm.info["run"] == run_dir.name and zsm.note.startswith(WEIGHTS_LABEL)


def test_rows_of_other_trainings_and_objectives_without_a_file_still_train(tmp_path, tiny_paper, monkeypatch):
    authors_file(tmp_path / ST_FILE)
    ws = workspace(tmp_path, {"STAR-ST": tmp_path / ST_FILE})

    class Trained(Exception):
        pass

    def trains(_ws, planned):
        raise Trained(planned.objective.name)
    monkeypatch.setattr(entries, "train_plan", trains)
    bench = tiny_bench(tmp_path)
    with pytest.raises(Trained, match="STAR-ST"):                   # an ablation row never asks for the file
        trained_entry(ws, "STAR-ST L_f", Training("STAR-ST", overrides={"perceptual_weight": 0.1}), bench, ("sr_t",))
    with pytest.raises(Trained, match="STAR-S"):                    # no file for STAR-S
        trained_entry(ws, "STAR-S", Training("STAR-S"), bench, ("sr_t",), released=True)
    assert not ws.runs.exists()


def test_bad_released_files_are_one_line_errors_naming_the_file_and_the_fix(tmp_path, tiny_paper):
    with pytest.raises(ConfigError, match=r"\[released\] 'STAR-ST' = 'weights/absent.pth'.*does not exist; give the "
                                          r"path") as info:
        workspace(tmp_path, {"STAR-ST": "weights/absent.pth"})
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=r"unknown objective\(s\) \['STAR-X'\]"):
        workspace(tmp_path, {"STAR-X": tmp_path})

    v4 = tmp_path / "FBPNSR_RBPN_V4_Lf_STAR.pth"                     # the network without FR: not STARnet
    authors_file(v4, "V4")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file")
    authors_file(tmp_path / ST_FILE)
    cases = {"STAR": (v4, "holds the authors' V4 network, not STARnet"),
             "STAR-S": (garbage, "cannot read"),
             "STAR-T_LR": (tmp_path / ST_FILE, "its name says STAR-ST")}
    ws = workspace(tmp_path, {k: f for k, (f, _) in cases.items()})
    for objective, (file, message) in cases.items():
        with pytest.raises(released.ReleasedWeightsError) as info:
            released.released_run(ws, objective)
        text = str(info.value)
        assert message in text and str(file.name) in text and "\n" not in text
    assert not ws.runs.exists() or not any(ws.runs.iterdir())        # nothing half-imported is left behind
