"""Profiles that validate and then break, and profile names that are paths.

Every numeric field of every profile table (found by introspecting the section dataclasses, so a section added
later is covered without editing this file) is refused when it is not finite or out of its range, with one
error naming the file, the table and the field; an empty profile or one without [model], [data], [train] or
steps is refused; a network above the checkpoints' parameter bound (built on the meta device) and a training
forward above the output-pixel bound are refused before anything is allocated. A profile name that is a path is
refused by every entry point: load_profile, parse_profile, Profile, Workspace.create, the CLI and a notebook
run by papermill (which then creates nothing).
"""

import dataclasses
import math
import os
import tomllib
import typing

import pytest

from starlib.models import STARConfig
from starlib.study.setup.profile import (MAX_FORWARD_PIXELS, PROFILE_DIR, SECTIONS, Profile, Schedule, TrainSettings,
                                   check_profile_name, load_profile, parse_profile)
from starlib.train import TrainConfig
from starlib.util.config import ConfigError, number_range
from starlib.util.paths import REPO_ROOT

#: Every table of a profile that holds numbers -> its dataclass. SECTIONS is read, not copied: a new section is
#: covered as soon as parse_profile knows it.
TABLES = {"model": STARConfig, "train": TrainConfig, "schedules.t": Schedule, **SECTIONS}


def smoke() -> dict:
    with (PROFILE_DIR / "smoke.toml").open("rb") as f:
        return tomllib.load(f)


def numeric_fields(cls):
    """``(name, hint)`` of every field of ``cls`` that holds numbers (an int, a float, or a tuple of them)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = typing.get_args(hint) if typing.get_origin(hint) is tuple else (hint,)
        if any(a in (int, float) for a in args):
            yield f.name, hint


def shaped(hint, number):
    """``number`` in the shape of a TOML value for ``hint`` (a list for a tuple field)."""
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        return [number] * (1 if args[-1] is Ellipsis else len(args))
    return number


def bad_numbers(cls, name, hint):
    """Values that must be refused: not finite, and just outside either end of the field's range."""
    low, high = number_range(cls, name)
    floats = float in (typing.get_args(hint) or (hint,))
    step = 1e-3 * max(abs(low), abs(high), 1) if floats else 1
    values = [high + step, 10**12, low - step, -(10**12)]
    if floats:
        values += [math.nan, math.inf, -math.inf]
    return [(int(v) if not floats and math.isfinite(v) else v) for v in values]


CASES = [pytest.param(table, name, value, id=f"{table}.{name}={value!r}")
         for table, cls in TABLES.items() for name, hint in numeric_fields(cls)
         for value in (shaped(hint, v) for v in bad_numbers(cls, name, hint))]


def with_value(table: str, name: str, value) -> dict:
    data = smoke()
    if table == "schedules.t":
        data["schedules"] = {"t": {name: value}}
    else:
        data[table] = {**{k: v for k, v in data.get(table, {}).items() if not isinstance(v, dict)}, name: value}
    return data


def test_every_table_of_a_profile_is_covered():
    hints = typing.get_type_hints(Profile)
    tables = {f.name for f in dataclasses.fields(Profile) if dataclasses.is_dataclass(hints[f.name])}
    numberless = {name for name in tables - {"train"} if not list(numeric_fields(hints[name]))}
    assert numberless == {"released"}                 # file paths only; its errors: tests/test_released_weights.py
    assert tables - {"train"} - numberless <= set(TABLES) and len(CASES) > 150
    assert TrainSettings not in TABLES.values()          # [train] holds TrainConfig fields: tested as TrainConfig


@pytest.mark.parametrize("table, name, value", CASES)
def test_a_number_out_of_range_is_one_error_naming_the_field(table, name, value, tmp_path):
    where = tmp_path / "x.toml"
    with pytest.raises(ConfigError) as info:
        parse_profile("x", with_value(table, name, value), where)
    message = str(info.value)
    assert "\n" not in message and str(where) in message and name in message, message


@pytest.mark.parametrize("profile", sorted(p.stem for p in PROFILE_DIR.glob("*.toml")))
def test_every_shipped_profile_is_within_its_bounds(profile):
    assert load_profile(profile).name == profile


@pytest.mark.parametrize("drop", ["everything", "model", "data", "train", "steps"])
def test_a_profile_without_what_it_cannot_do_without_is_refused(drop, tmp_path):
    data = {} if drop == "everything" else smoke()
    if drop == "steps":
        del data["train"]["steps"]
    elif drop != "everything":
        del data[drop]
    with pytest.raises(ConfigError, match="no steps" if drop == "steps" else r"no .*\[" + (
            "model" if drop == "everything" else drop) + r"\]"):
        parse_profile("x", data, tmp_path / "x.toml")


def test_a_network_above_the_parameter_bound_is_refused_on_the_meta_device(tmp_path):
    data = smoke()
    data["model"].update(base_filter=2048, feat=2048)                   # each within range, together ~ TB
    with pytest.raises(ConfigError, match=r"\[model\]: the network would have [\d,.]+ M parameters .* above the "
                                          r"bound"):
        parse_profile("x", data, tmp_path / "x.toml")


def test_a_training_forward_above_the_pixel_bound_is_refused(tmp_path):
    data = smoke()
    data["train"].update(batch_size=1024, patch=1024)
    with pytest.raises(ConfigError, match=f"above the bound of {MAX_FORWARD_PIXELS / 1e6:.0f} M"):
        parse_profile("x", data, tmp_path / "x.toml")
    data["train"]["micro_batch"] = 1                # one item per forward: 16 M pixels, accepted
    assert parse_profile("x", data, tmp_path / "x.toml").train.config("STAR").micro_batch == 1


EVIL = ["../../x", "../../../../rt/evil", "/etc/passwd", "smoke/../cpu", "", ".", "a b", "x" * 65, None, 3]


@pytest.mark.parametrize("name", EVIL)
def test_a_profile_name_that_is_a_path_is_refused_everywhere(name, tmp_path):
    from starlib.study.setup.workspace import Workspace

    for call in (lambda: check_profile_name(name), lambda: load_profile(name),
                 lambda: parse_profile(name, smoke()),
                 lambda: dataclasses.replace(load_profile("smoke"), name=name),
                 lambda: Workspace.create(name, results_dir=tmp_path, figures_dir=tmp_path, runs_dir=tmp_path)):
        with pytest.raises(ConfigError, match="is not a profile name"):
            call()
    assert list(tmp_path.iterdir()) == []


def test_the_cli_refuses_a_profile_path(capsys):
    from starlib.__main__ import main

    with pytest.raises(SystemExit):
        main(["train", "--profile", "../../x"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.slow
def test_papermill_with_a_profile_path_creates_nothing(tmp_path):
    """The case of the report: ``papermill ... -p profile ../../../../rt/evil`` read that file and created the
    folder; now the notebook stops at its first use of the profile and nothing is written."""
    import papermill as pm

    evil = tmp_path / "rt" / "evil"
    evil.parent.mkdir()
    (evil.parent / "evil.toml").write_bytes((PROFILE_DIR / "smoke.toml").read_bytes())   # a file it could load
    name = os.path.relpath(evil, REPO_ROOT / "results")
    before = sorted(p.name for p in (REPO_ROOT / "results").iterdir())
    with pytest.raises(pm.PapermillExecutionError, match="is not a profile name"):
        pm.execute_notebook(str(REPO_ROOT / "notebooks" / "00_networks.ipynb"), str(tmp_path / "out.ipynb"),
                            parameters={"profile": name}, cwd=str(REPO_ROOT / "notebooks"), progress_bar=False,
                            kernel_name="python3")
    assert not evil.exists() and sorted(p.name for p in (REPO_ROOT / "results").iterdir()) == before
    assert sorted(p.name for p in evil.parent.iterdir()) == ["evil.toml"]


def test_whole_frames_of_several_sizes_in_one_batch_are_refused_before_training(tmp_path):
    """patch = 0 (whole frames, as the authors) with a batch of 2 on the embedded clips, whose frames come in
    several sizes, used to end in torch.stack's traceback at the first step."""
    from starlib.study.trainings.recipes import Training
    from starlib.study.trainings.training_runs import train_run
    from starlib.study.setup.workspace import Workspace

    data = smoke()
    data["train"].update(patch=0, batch_size=2)
    ws = Workspace.create(parse_profile("smoke", data, tmp_path / "smoke.toml"), runs_dir=tmp_path / "runs",
                          cache_dir=tmp_path / "cache", device="cpu", progress=False)
    with pytest.raises(ConfigError, match=r"patch = 0 trains .* on whole frames, but its training frames come in "
                                          r"\d+ sizes .* set patch \(e\.g\. 32\) or micro_batch = 1"):
        train_run(ws, Training("STAR"))
    assert not list((tmp_path / "runs").rglob("*.pt"))
