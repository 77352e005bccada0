"""Profiles are typed, validated data: every key has a home, a misspelt one is an error naming it and the file."""

import tomllib

import pytest

from starlib.paper.objectives import FINETUNES, OBJECTIVES
from starlib.study.pipeline import plan
from starlib.study.setup.profile import PROFILE_DIR, available_profiles, load_profile, parse_profile


@pytest.mark.parametrize("name", available_profiles())
def test_every_shipped_profile_loads_and_builds_every_train_config(name):
    prof = load_profile(name)
    assert prof.path == PROFILE_DIR / f"{name}.toml" and prof.device == "auto"
    for objective in OBJECTIVES:
        cfg = prof.train.config(objective)
        assert cfg.objective == objective and cfg.inputs == OBJECTIVES[objective].inputs


def _toml(name: str) -> dict:
    with (PROFILE_DIR / f"{name}.toml").open("rb") as f:
        return tomllib.load(f)


@pytest.mark.parametrize("section, key", [("eval", "tile_hrr"), ("tables", "t5_cropp"), ("data", "max_test_item"),
                                          ("flow", "backnd"), ("model", "base_filters"), ("train", "setps")])
def test_a_misspelt_key_names_the_key_and_the_file(section, key, tmp_path):
    data = _toml("smoke")
    data.setdefault(section, {})[key] = 1
    with pytest.raises(ValueError, match=rf"smoke\.toml.*\[{section}\].*'{key}'"):
        parse_profile("smoke", data, tmp_path / "smoke.toml")


def test_wrong_types_unknown_tables_and_devices_are_errors(tmp_path):
    where = tmp_path / "x.toml"
    bad_type = _toml("cpu") | {"eval": {"tile_hr": "128"}}
    with pytest.raises(ValueError, match=r"x\.toml \[eval\]: tile_hr = '128' is not int"):
        parse_profile("x", bad_type, where)
    with pytest.raises(ValueError, match=r"unknown table\(s\) \['STAR-X'\] under \[train\]"):
        parse_profile("x", _toml("cpu") | {"train": {"STAR-X": {"steps": 1}}}, where)
    with pytest.raises(ValueError, match="recipes choose"):
        parse_profile("x", _toml("cpu") | {"train": {"objective": "STAR"}}, where)
    with pytest.raises(ValueError, match="device = 'gpu0'"):
        parse_profile("x", _toml("cpu") | {"device": "gpu0"}, where)
    with pytest.raises(ValueError, match="unknown key"):
        parse_profile("x", _toml("cpu") | {"tabels": {}}, where)
    assert parse_profile("x", _toml("cpu") | {"device": "cuda:1"}, where).device == "cuda:1"


def test_train_settings_layer_base_finetune_and_objective():
    prof = load_profile("cpu")
    star, st, thr = (prof.train.config(o) for o in ("STAR", "STAR-ST", "STAR-T_HR"))
    assert (star.steps, st.steps, thr.steps) == (400, 300, 200)    # [train], [train.finetune], [train."STAR-T_HR"]
    assert (star.patch, st.patch, thr.patch) == (24, 24, 32)
    assert set(FINETUNES) == set(OBJECTIVES) - {"STAR"}


def test_the_training_notebook_runs_once_per_objective():
    runs = [r for r in plan(["02"])]
    assert [r.parameters["objective"] for r in runs] == list(OBJECTIVES)
    assert runs[0].name == "02_train_objective-STAR.ipynb"


def test_the_validation_split_is_carved_out_of_the_training_data():
    from starlib.study.trainings.recipes import training_split

    prof = load_profile("cpu")
    train, val, tag = training_split(prof)
    assert len(val) == prof.validation.windows == 4 and tag.endswith(f":{len(train)}-val4")
    assert not {w.name for w in val} & {w.name for w in train}            # never trained on
    assert not set(f for w in val for f in w.frames) & set(f for w in train for f in w.frames)
    off = parse_profile("x", _toml("cpu") | {"validation": {"windows": 0}})
    assert training_split(off)[2] == f"davis+toflow-w3:{len(train) + 4}"   # the tag of runs without a split
    with pytest.raises(ValueError, match="can be held out"):
        training_split(parse_profile("x", _toml("cpu") | {"validation": {"windows": 99, "every": 10}}))


@pytest.mark.parametrize("section, values, match", [
    ("data", {"max_test_items": -2}, r"\[data\]: max_test_items = -2 is out of range"),
    ("eval", {"hr_input_benchmarks": ["ucf-101"]}, "unknown benchmarks"),
    ("eval", {"tile_hr": -1}, r"tile_hr = -1 is out of range; give a finite number from 0 to 4096"),
    ("tables", {"t9_cross_benchmarks": ["vid4"]}, "unknown benchmarks"),
    ("tables", {"t5_crop": [0, 0]}, "t5_crop = 0 is out of range"),
    ("validation", {"windows": 2, "every": 0}, "never scores"),
])
def test_values_out_of_range_are_errors_naming_the_key(section, values, match, tmp_path):
    data = _toml("cpu")
    data[section] = {**data.get(section, {}), **values}
    with pytest.raises(ValueError, match=match):
        parse_profile("x", data, tmp_path / "x.toml")
