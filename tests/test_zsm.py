"""The ZSM protocol: unrounded-Y metrics against BasicSR 1.4.2, windows against ZSM's and TMNet's index rules,
the pair/key-frame assembly with methods whose outputs are known, the readers and their errors, the summary
and the command.

BasicSR reference literals (BASICSR_Y) were computed once with BasicSR 1.4.2 (``pip download basicsr==1.4.2
--no-deps``, sdist sha256 b89b595a87ef964cda9913b4d99380ddb6554c965577c0c10cb7b78e31301e87, unpacked; only
``basicsr/metrics/psnr_ssim.py``, ``metric_util.py`` and ``basicsr/utils/color_util.py`` loaded by file path, with
a stub ``basicsr.utils.registry``; numpy 2.4, opencv 4): ``calculate_psnr(gt_bgr, pred_bgr, crop_border=0,
test_y_channel=True)`` and ``calculate_ssim(...)`` with the same arguments, on the BGR flips of the images of
:func:`_images` and :func:`_distortions`. Our float64 Y differs from BasicSR's float32 Y by at most 3.9e-6 dB
(PSNR) and 4.9e-8 (SSIM) on these cases.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter
from skimage import data

from helpers import tiny_config
from starlib.data.degrade import make_lr
from starlib.data.samples import FrameStack
from starlib.data.fetch import status
from starlib.data.septuplets import (ClipError, folder_clip, load_clip, septuplet_list, toflow_clip,
                                     vid4_clips, vimeo_septuplets, zsm_windows)
from starlib.evaluation.baselines import bicubic_and_average
from starlib.evaluation.zsm import (BicubicPairs, WithKeyFrames, assemble_window, pair_outputs, score_clip)
from starlib.metrics import psnr_y
from starlib.metrics.y_float import psnr_y_float, rgb_to_y_float, ssim_y_float
from starlib.study.setup.profile import parse_profile
from starlib.study.tables.table_zsm import (FLOOR, MD_END, MD_START, REPORTED_BY, merge_into_tables_md, reported_zsm,
                                     summarize_zsm)

# ----------------------------------------------------------------------------- Y metrics vs BasicSR


def _hash_noise(h: int, w: int, c: int) -> np.ndarray:
    i, j, k = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    return ((i * 7919 + j * 104729 + k * 1299709) % 1009) / 1008.0


def _images() -> dict[str, np.ndarray]:
    return {"astronaut": data.astronaut()[80:208, 160:288],
            "camera": np.repeat(data.camera()[100:196, 200:296, None], 3, axis=2),
            "noise": np.round(_hash_noise(45, 61, 3) * 255).astype(np.uint8)}


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(np.round(gaussian_filter(img.astype(np.float64), (sigma, sigma, 0))), 0, 255).astype(np.uint8)


def _distortions(img: np.ndarray) -> dict[str, np.ndarray]:
    return {"same": img.copy(), "blur1": _blur(img, 1.0),
            "offset3": np.clip(img.astype(np.int16) + 3, 0, 255).astype(np.uint8),
            "roll1": np.roll(img, 1, axis=1), "quant16": (img // 16 * 16 + 8).astype(np.uint8)}


# (image, distortion, BasicSR calculate_psnr, BasicSR calculate_ssim), test_y_channel=True, crop_border=0
BASICSR_Y = [
    ("astronaut", "same", math.inf, 1.0),
    ("astronaut", "blur1", 31.52300559895489, 0.9343420893552515),
    ("astronaut", "offset3", 39.911030888602184, 0.998666163454709),
    ("astronaut", "roll1", 24.76668732384686, 0.8627897162090576),
    ("astronaut", "quant16", 38.18998800449309, 0.9683464553100797),
    ("camera", "same", math.inf, 1.0),
    ("camera", "blur1", 28.953809447536774, 0.9037291489564045),
    ("camera", "offset3", 39.91354684879062, 0.9994279138937935),
    ("camera", "roll1", 22.396656049873414, 0.8435685116450243),
    ("camera", "quant16", 35.96992956950749, 0.9532650474808366),
    ("noise", "same", math.inf, 1.0),
    ("noise", "blur1", 16.372218747622167, 0.4413297811744894),
    ("noise", "offset3", 39.95295937940546, 0.9997932973577905),
    ("noise", "roll1", 11.607165925022203, 0.12401257549296965),
    ("noise", "quant16", 38.65835675393211, 0.9983121841999892),
]


@pytest.mark.parametrize("name, distortion, psnr_ref, ssim_ref", BASICSR_Y)
def test_y_metrics_match_basicsr(name, distortion, psnr_ref, ssim_ref):
    gt = _images()[name]
    pred = _distortions(gt)[distortion]
    p, s = psnr_y_float(gt, pred), ssim_y_float(gt, pred)
    if math.isinf(psnr_ref):
        assert math.isinf(p) and s == 1.0
        return
    assert p == pytest.approx(psnr_ref, abs=1e-5)
    assert s == pytest.approx(ssim_ref, abs=1e-7)


def test_y_is_unrounded_and_differs_from_the_matlab_rounded_psnr_y():
    gt = _images()["astronaut"]
    pred = _distortions(gt)["offset3"]
    y = rgb_to_y_float(np.array([[[146, 124, 97], [255, 255, 255]]], np.uint8))
    assert y[0, 0] == pytest.approx(16 + (65.481 * 146 + 128.553 * 124 + 24.966 * 97) / 255, abs=1e-12)
    assert y[0, 1] == pytest.approx(235.0, abs=1e-9)
    assert abs(psnr_y(gt, pred) - psnr_y_float(gt, pred)) > 0.1    # the two conventions are not interchangeable
    with pytest.raises(ValueError, match="uint8"):
        psnr_y_float(gt, gt.astype(np.float32))


# ----------------------------------------------------------------------------- windows


def _zsm_reference(n: int, tail: bool) -> dict[int, int]:
    """Frame -> start of the window it is scored in, transcribed from ZSM's ``util.test_index_generation(skip=
    True, N_out=7, len_in=n)`` (+ TMNet's extra last window when ``tail``) and ``gt_tested_list``."""
    n_out, sele, right = 7, [], 7
    while right <= n:
        sele.append([right - n_out + x for x in range(n_out)])
        right += n_out - 1
    if right < n - 1:               # ZSM's tail check (never true: right > n here)
        sele.append([n - n_out + x for x in range(n_out)])
    if tail and n > 7:              # TMNet's evaluation_single_frame.py
        sele.append([n - 7 + x for x in range(7)])
    scored: dict[int, int] = {}
    for h in sele:
        for f in h:
            scored.setdefault(f, h[0])
    return scored


@pytest.mark.parametrize("tail", [True, False])
def test_windows_follow_zsm_and_tmnet(tail):
    for n in range(7, 60):
        got = {w.start + p: w.start for w in zsm_windows(n, tail) for p in w.scored}
        assert got == _zsm_reference(n, tail), n
    assert [(w.start, w.scored) for w in zsm_windows(12)] == [(0, tuple(range(7))), (5, (2, 3, 4, 5, 6))]
    assert zsm_windows(41, tail=False)[-1].start == 30          # ZSM leaves frames 37-40 of calendar unscored
    assert zsm_windows(7)[0].inputs == (0, 2, 4, 6)
    with pytest.raises(ClipError, match="6 frames"):
        zsm_windows(6)


# ----------------------------------------------------------------------------- known outputs


def _frames(n: int, h: int = 48, w: int = 48, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(20, 230, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def _write(folder, frames, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    for k, f in enumerate(frames):
        Image.fromarray(f).save(folder / (names[k] if names else f"{k + 1}.png"))
    return folder


class Oracle:
    """Knows the clip: returns its true HR frames for the LR pair it is given, each output offset by a constant."""

    def __init__(self, hr: dict[int, np.ndarray], lr: dict[int, np.ndarray], t: int = 0, mid: int = 0, t1: int = 0):
        self.hr, self.lookup = hr, {f.tobytes(): i for i, f in lr.items()}
        self.off = {"sr_t": t, "sr_mid": mid, "sr_t1": t1}

    def _shifted(self, i: int, key: str) -> np.ndarray:
        return (self.hr[i].astype(np.int16) + self.off[key]).astype(np.uint8)

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        assert stack.hr == [] and len(stack.lr) == 2     # the harness never hands a method ground truth
        i, j = self.lookup[stack.lr[0].tobytes()], self.lookup[stack.lr[-1].tobytes()]
        assert j == i + 2                                # pairs of frames 1-3, 3-5, 5-7 of a window
        return {"sr_t": self._shifted(i, "sr_t"), "sr_mid": self._shifted(i + 1, "sr_mid"),
                "sr_t1": self._shifted(j, "sr_t1")}


def _offset_psnr(d: int) -> float:
    """Y-PSNR of a frame whose R, G, B are all off by ``d`` (Y off by d * 219/255)."""
    return 10 * math.log10(255**2 / (d * (65.481 + 128.553 + 24.966) / 255) ** 2)


@pytest.fixture
def clip11(tmp_path):
    frames = _frames(11)
    folder = _write(tmp_path / "Vid4" / "GT" / "clipA", frames)   # 1.png ... 11.png: natural order matters
    return folder_clip(folder), frames


def test_ground_truth_method_scores_inf_on_every_frame_of_every_window(clip11):
    clip, _ = clip11
    hr, lr = load_clip(clip)
    items = pd.DataFrame(score_clip(Oracle(hr, lr), clip))
    assert sorted(items.frame) == list(range(11))                # every frame once (TMNet's last window)
    assert set(items.start) == {0, 4}
    for c in ("first", "second", "mean"):
        assert np.isinf(items[f"psnr_y_{c}"]).all() and (items[f"ssim_y_{c}"] == 1.0).all()


def test_offsets_land_on_the_frames_they_belong_to(clip11):
    clip, _ = clip11
    hr, lr = load_clip(clip)
    items = pd.DataFrame(score_clip(Oracle(hr, lr, mid=2), clip))
    inserted, key = items[items.role == "inserted"], items[items.role == "key"]
    assert set(items[items.start == 0].query("role == 'inserted'").position) == {1, 3, 5}
    np.testing.assert_allclose(inserted.psnr_y_second, _offset_psnr(2), rtol=0, atol=1e-9)
    assert np.isinf(key.psnr_y_second).all()


def test_key_frame_choices(clip11):
    clip, _ = clip11
    hr, lr = load_clip(clip, indices=list(range(7)))
    oracle = Oracle(hr, lr, t1=2)                 # sr_t exact, sr_t1 two levels too bright
    pairs = pair_outputs(oracle, [lr[i] for i in (0, 2, 4, 6)])
    for choice, expected in (("first", 2), ("second", 0), ("mean", 1)):
        frames = assemble_window(pairs, choice)
        for position in (2, 4):                   # frames 3 and 5: predicted by two pairs
            diff = frames[position].astype(int) - hr[position].astype(int)
            assert (diff == expected).all(), (choice, position)
        assert (frames[0] == hr[0]).all()         # frame 1: sr_t of the first pair, whatever the choice
        assert (frames[6].astype(int) - hr[6] == 2).all()   # frame 7: sr_t1 of the last pair
    items = pd.DataFrame(score_clip(oracle, clip, max_windows=1))
    shared = items[items.shared]
    assert list(shared.position) == [2, 4]
    np.testing.assert_allclose(shared.psnr_y_first, _offset_psnr(2), atol=1e-9)
    np.testing.assert_allclose(shared.psnr_y_mean, _offset_psnr(1), atol=1e-9)
    assert np.isinf(shared.psnr_y_second).all()
    last = items[items.position == 6]
    assert (last.psnr_y_first == last.psnr_y_second).all() and np.isfinite(last.psnr_y_first).all()
    with pytest.raises(ValueError, match="unknown key-frame choice"):
        assemble_window(pairs, "last")


def test_bicubic_pairs_and_key_frames_for_cascades():
    a, b = (make_lr(f, 4)[1] for f in _frames(2, 64, 64))
    out = BicubicPairs(4)(FrameStack("p", [], [a, b]))
    ref = bicubic_and_average(FrameStack("p", [a, b], [a, b]), 4)
    assert all((out[k] == ref[k]).all() for k in ("sr_t", "sr_mid", "sr_t1")) and "hr_mid" not in out
    mid_only = lambda stack: {"sr_mid": np.zeros_like(out["sr_mid"])}   # noqa: E731  (a T-SR -> S-SR cascade)
    combined = WithKeyFrames(mid_only, BicubicPairs(4))(FrameStack("p", [], [a, b]))
    assert (combined["sr_t"] == out["sr_t"]).all() and not combined["sr_mid"].any()
    with pytest.raises(ValueError, match="sr_t.*WithKeyFrames"):
        pair_outputs(mid_only, [a, b, a, b])


# ----------------------------------------------------------------------------- readers


def test_vid4_layouts_natural_order_and_given_lr(tmp_path):
    frames = _frames(11)
    root = tmp_path / "Vid4"
    _write(root / "GT" / "calendar", frames)
    _write(root / "BIx4" / "calendar", [make_lr(f, 4)[1] for f in frames])
    (clip,) = vid4_clips(root)
    assert [p.name for p in clip.frames] == [f"{k}.png" for k in range(1, 12)] and clip.lr_frames is None
    (given,) = vid4_clips(root, "BIx4")                          # a name under the Vid4 folder
    assert [p.name for p in given.lr_frames] == [f"{k}.png" for k in range(1, 12)]
    made = pd.DataFrame(score_clip(BicubicPairs(4), clip))
    read = pd.DataFrame(score_clip(BicubicPairs(4), given))
    pd.testing.assert_frame_equal(made, read)                    # given LR = the pil degradation here
    hr, lr = load_clip(given, crop=(20, 24), indices=[3])
    assert hr[3].shape == (20, 24, 3) and lr[3].shape == (5, 6, 3)
    _write(tmp_path / "zsm_hr" / "HR" / "walk", frames)           # ZSM's / TMNet's layout
    assert [c.name for c in vid4_clips(tmp_path / "zsm_hr")] == ["walk"]
    assert [c.name for c in vid4_clips(root / "GT")] == ["calendar"]   # the clip folders themselves


def test_reader_errors_name_the_folder_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Vid4 folder .*nowhere does not exist.*GT/<clip>"):
        vid4_clips(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no Vid4 folder given"):
        vid4_clips("")
    _write(tmp_path / "short" / "GT" / "city", _frames(6))
    with pytest.raises(ClipError, match=r"'city' .*short.*holds 6 frame\(s\).*at least 7"):
        vid4_clips(tmp_path / "short")
    mixed = _frames(7)
    mixed[4] = _frames(1, 48, 52)[0]
    _write(tmp_path / "mixed" / "GT" / "foliage", mixed)
    with pytest.raises(ClipError, match=r"'foliage' .*differ in size \(48x48: 1.png.*52x48: 5.png.*one size"):
        vid4_clips(tmp_path / "mixed")
    frames = _frames(8)
    _write(tmp_path / "lr" / "GT" / "walk", frames)
    _write(tmp_path / "lr" / "BIx4" / "walk", [make_lr(f, 4)[1] for f in frames[:7]])
    with pytest.raises(ClipError, match="8 HR frames but 7 given LR frames"):
        vid4_clips(tmp_path / "lr", "BIx4")
    with pytest.raises(FileNotFoundError, match="Vid4 LR folder BIx2 not found"):
        vid4_clips(tmp_path / "lr", "BIx2")
    _write(tmp_path / "lr2" / "GT" / "walk", frames)
    _write(tmp_path / "lr2" / "BIx4" / "walk", [make_lr(f, 2)[1] for f in frames])
    (clip,) = vid4_clips(tmp_path / "lr2", "BIx4")
    with pytest.raises(ClipError, match=r"LR frame .*1.png is 24x24.*needs 12x12 at scale 4"):
        load_clip(clip)


def test_vimeo_septuplets_and_the_shipped_lists(tmp_path):
    lists = {s: septuplet_list(s) for s in ("fast", "medium", "slow")}
    assert {s: len(v) for s, v in lists.items()} == {"fast": 1225, "medium": 4977, "slow": 1613}
    assert not (set(lists["fast"]) & set(lists["medium"])) and lists["fast"][0] == "00001/0625"
    assert status(["vimeo_lists"])[0].state == "present"          # every list file matches its SHA-256
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "fast_testset.txt").write_text("00001/0001\n00001/0002")
    root = tmp_path / "vimeo_septuplet"
    for clip_id in ("00001/0001", "00001/0002"):
        _write(root / "sequences" / clip_id, _frames(7, 32, 32), [f"im{k}.png" for k in range(1, 8)])
    clips = vimeo_septuplets(root, "fast", tmp_path / "lists")
    assert [c.name for c in clips] == ["00001/0001", "00001/0002"] and len(clips[0].frames) == 7
    assert len(vimeo_septuplets(root, "fast", tmp_path / "lists", limit=1)) == 1
    (root / "sequences" / "00001" / "0002" / "im6.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"septuplet 00001/0002 .*missing .*im6.png"):
        vimeo_septuplets(root, "fast", tmp_path / "lists")
    with pytest.raises(FileNotFoundError, match=r"sequences does not exist.*toflow.csail.mit.edu"):
        vimeo_septuplets(tmp_path, "fast", tmp_path / "lists")
    with pytest.raises(ValueError, match="unknown Vimeo septuplet list"):
        septuplet_list("fastest")


def test_toflow_clip_is_twelve_frames():
    clip = toflow_clip()
    assert len(clip.frames) == 12 and [w.start for w in zsm_windows(12)] == [0, 5]


# ----------------------------------------------------------------------------- summary, rendering, profile


def test_summary_averages_frames_within_clips_then_clips():
    rows = []
    for clip, values in (("a", [30.0] * 7), ("b", [20.0] * 6 + [40.0] * 6)):   # b: 12 frames, mean 30
        for k, v in enumerate(values):
            rows.append({"method": "M", "dataset": "vid4", "clip": clip, "window": k // 7, "start": 0, "frame": k,
                         "position": k % 7, "role": "key" if k % 2 == 0 else "inserted", "shared": k in (2, 4),
                         **{f"psnr_y_{c}": v + (c == "mean") for c in ("first", "second", "mean")},
                         **{f"ssim_y_{c}": 0.9 for c in ("first", "second", "mean")}})
    items = pd.DataFrame(rows)
    items = pd.concat([items, items.assign(method=FLOOR, **{f"psnr_y_{c}": 25.0 for c in ("first", "second", "mean")})])
    s = summarize_zsm(items, "second", FLOOR, counterparts={"M": ("STARnet", True)})
    row = s[(s.method == "M") & (s.frames == "all") & (s.key_frames == "second") & (s.metric == "psnr_y")].iloc[0]
    assert row["mean"] == pytest.approx(30.0) and row.n_clips == 2 and row.n_frames == 19 and bool(row["default"])
    assert row.delta_vs_reference == pytest.approx(5.0) and row.reported == 26.06
    assert row.ours_minus_reported == pytest.approx(30.0 - 26.06)
    mean_row = s[(s.method == "M") & (s.frames == "all") & (s.key_frames == "mean") & (s.metric == "psnr_y")]
    assert float(mean_row["mean"].iloc[0]) == pytest.approx(31.0)
    reported = s[s.status == REPORTED_BY]
    assert len(reported) == len(reported_zsm()) == 15 * 4 * 2
    star = reported[(reported.method == "STARnet") & (reported.dataset == "vimeo_slow") & (reported.metric == "ssim_y")]
    assert float(star.reported.iloc[0]) == 0.9164


def test_tables_md_block_is_replaced_not_repeated(tmp_path):
    path = tmp_path / "tables.md"
    assert merge_into_tables_md(path, "## ZSM\n") == f"{MD_START}\n## ZSM\n{MD_END}\n"
    path.write_text("# Tables\n\n## Table 1\n")
    path.write_text(merge_into_tables_md(path, "## ZSM v1\n"))
    path.write_text(merge_into_tables_md(path, "## ZSM v2\n"))
    text = path.read_text()
    assert text.startswith("# Tables") and text.count(MD_START) == 1 and "v2" in text and "v1" not in text


def test_profile_zsm_section_is_typed():
    base = {"model": {}, "data": {}, "train": {"steps": 1}}           # what every profile must have
    with pytest.raises(ValueError, match=r"\[zsm\].*key_frames must be one of"):
        parse_profile("x", base | {"zsm": {"key_frames": "last"}})
    with pytest.raises(ValueError, match=r"\[zsm\].*unknown key 'vid4'"):
        parse_profile("x", base | {"zsm": {"vid4": "/data"}})
    assert parse_profile("x", base | {"zsm": {"crop": [64, 64]}}).zsm.crop == (64, 64)


# ----------------------------------------------------------------------------- the command


def test_command_scores_a_checkpoint_on_a_vid4_folder(tmp_path, capsys):
    from starlib.__main__ import main
    from starlib.models import STARnet, save_checkpoint

    ckpt = save_checkpoint(STARnet(tiny_config()), tmp_path / "st.pt", extra={"objective": "STAR-ST"})
    _write(tmp_path / "Vid4" / "GT" / "walk", _frames(7, 64, 64))
    out = tmp_path / "out"
    assert main(["zsm", "--checkpoint", str(ckpt), "--vid4", str(tmp_path / "Vid4"), "--device", "cpu", "--quiet",
                 "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "STAR-ST (st.pt) | Vid4" in printed and "STARnet | 26.06 / 0.8046" in printed
    summary = pd.read_csv(out / "zsm.csv")
    ours = summary[(summary.method == "STAR-ST (st.pt)") & (summary.frames == "all") & summary["default"]]
    assert set(ours.metric) == {"psnr_y", "ssim_y"} and (ours.reported_method == "STARnet").all()
    assert len(pd.read_csv(out / "zsm_items.csv")) == 2 * 7            # bicubic and the checkpoint, 7 frames
    _write(tmp_path / "Bad" / "GT" / "city", _frames(5, 64, 64))
    assert main(["zsm", "--checkpoint", str(ckpt), "--vid4", str(tmp_path / "Bad"), "--quiet"]) == 2
    assert "holds 5 frame(s)" in capsys.readouterr().err
    assert main(["zsm", "--checkpoint", str(ckpt), "--vid4", str(tmp_path / "none"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_vid4_is_scored_once_per_lr_method_and_only_matlab_lr_is_called_vid4(tmp_path):
    from starlib.study.setup.profile import ZSMSettings
    from starlib.study.tables.table_zsm import ZSMMethod, score_methods, zsm_datasets

    _write(tmp_path / "Vid4" / "GT" / "walk", _frames(7, 64, 64))
    settings = ZSMSettings(vid4_root=str(tmp_path / "Vid4"), vid4_lr_methods=("matlab", "pil"))
    data = zsm_datasets(settings)
    assert [(d.name, d.lr_method) for d in data] == [("vid4", "matlab"), ("vid4_pil", "pil")]
    assert "matlab" in data[0].lr and "pil" in data[1].lr
    items = score_methods([ZSMMethod("Bicubic", BicubicPairs(4))], data, settings)
    by = items.groupby("dataset")["psnr_y_second"].mean()
    assert by["vid4"] != by["vid4_pil"]                          # the two LR degradations really differ
    assert [d.name for d in zsm_datasets(ZSMSettings(vid4_root=str(tmp_path / "Vid4"), lr_method="pil"))] == ["vid4_pil"]
    with pytest.raises(ValueError, match="vid4_lr_methods"):
        ZSMSettings(vid4_lr_methods=("matlab", "matlab"))
