"""Data: the registered benchmarks load, LR generation follows the authors, bad frames fail clearly."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from starlib.data import (EvalWindows, ImageError, RandomCropWindows, Window, davis_triplets, downscale, frame_folder,
                          iter_video_frames, load_window, make_lr, middlebury_other, modcrop, probe_video, read_frames,
                          read_rgb, sliding_windows, to_tensor, to_uint8, toflow_frames, ucf101_dvf, vimeo90k,
                          write_png)
from starlib.data.fetch import status
from starlib.data.registry import DATASETS
from starlib.data.septuplets import vid4_clips
from starlib.flow import FlowCache
from starlib.util.paths import from_repo


def test_registered_benchmarks_are_complete():
    mb, ucf, davis = middlebury_other(), ucf101_dvf(), davis_triplets()
    assert len(mb) == 12 and len(ucf) == 285 and len(davis) == 30
    assert [w.name for w in mb][:3] == ["Walking", "Venus", "Urban3"]  # authors' test.txt order
    clip = frame_folder(toflow_frames())
    assert len(clip.frames) == 12
    assert len(sliding_windows(clip, 3)) == 10 and len(sliding_windows(clip, 7)) == 6
    vid4 = vid4_clips(from_repo("data/vid4"))          # a profile's path: under the data root
    assert {c.name: len(c.frames) for c in vid4} == {"calendar": 41, "city": 34, "foliage": 49, "walk": 47}
    assert vid4[0].frames[0].name == "Frame 001.png" and vid4[2].frames[9].name == "Frame 10.png"


@pytest.mark.parametrize("name", list(DATASETS))
def test_fetched_data_matches_the_manifests(name):
    (row,) = status([name])                    # every file of the manifest, SHA-256 checked
    assert row.files > 0 and row.state == "present", row.line()


def test_middlebury_sample_sizes_and_lr():
    stack = load_window(middlebury_other()[1])  # Venus, 420x380
    assert stack.hr[0].shape == (380, 420, 3)  # both divisible by 4: no crop
    assert stack.lr[0].shape == (95, 105, 3)


def test_modcrop_and_pil_bicubic_as_the_authors():
    img = np.random.default_rng(0).integers(0, 256, (37, 50, 3), dtype=np.uint8)
    hr = modcrop(img, 4)
    assert hr.shape == (36, 48, 3) and np.array_equal(hr, img[:36, :48])  # right/bottom dropped
    lr = downscale(hr, 4, "pil")
    expected = np.asarray(Image.fromarray(hr).resize((12, 9), Image.Resampling.BICUBIC))
    assert np.array_equal(lr, expected)
    with pytest.raises(ValueError, match="not divisible by 4; modcrop"):
        downscale(img, 4)
    hr2, lr2 = make_lr(img, 4)
    assert np.array_equal(lr2, lr)


def test_tensor_round_trip():
    img = np.random.default_rng(1).integers(0, 256, (8, 6, 3), dtype=np.uint8)
    for norm in ("imagenet", "unit"):
        t = to_tensor(img, norm)
        assert t.shape == (3, 8, 6) and t.dtype == torch.float32
        assert np.array_equal(to_uint8(t, norm), img)
        assert np.array_equal(to_uint8(t[None], norm)[0], img)
    assert abs(float(to_tensor(np.full((2, 2, 3), 124, np.uint8))[0].mean()) - (124 / 255 - 0.485) / 0.229) < 1e-6


# --- bad inputs --------------------------------------------------------------------------------------

def _save(path: Path, arr: np.ndarray, mode: str | None = None) -> Path:
    Image.fromarray(arr, mode).save(path) if mode else Image.fromarray(arr).save(path)
    return path


def test_bad_frames_raise_errors_naming_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png does not exist"):
        read_rgb(tmp_path / "missing.png")
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    good = _save(tmp_path / "good.png", noise)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ImageError, match="truncated.png.*truncated, corrupt"):
        read_rgb(truncated)
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageError, match="text.png"):
        read_rgb(tmp_path / "text.png")
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 40000, np.uint16)).save(deep)
    with pytest.raises(ImageError, match="deep.png is a I;16.*8-bit"):
        read_rgb(deep)
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 128
    _save(tmp_path / "alpha.png", rgba, "RGBA")
    with pytest.raises(ImageError, match="alpha.png has transparent pixels"):
        read_rgb(tmp_path / "alpha.png")


def test_grayscale_and_opaque_rgba_are_converted(tmp_path):
    gray = _save(tmp_path / "gray.png", np.arange(64, dtype=np.uint8).reshape(8, 8))
    rgb = read_rgb(gray)
    assert rgb.shape == (8, 8, 3) and np.array_equal(rgb[..., 0], rgb[..., 2])
    rgba = np.full((8, 8, 4), 255, np.uint8)
    rgba[..., 0] = 7
    out = read_rgb(_save(tmp_path / "opaque.png", rgba, "RGBA"))
    assert out.shape == (8, 8, 3) and (out[..., 0] == 7).all()


def test_frames_of_different_sizes_in_one_sample(tmp_path):
    a = _save(tmp_path / "a.png", np.zeros((16, 16, 3), np.uint8))
    b = _save(tmp_path / "b.png", np.zeros((16, 20, 3), np.uint8))
    with pytest.raises(ImageError, match="differ in size.*a.png: 16x16, b.png: 20x16"):
        read_frames([a, b])


def test_missing_benchmark_and_vimeo_paths_give_a_clear_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="Middlebury 'other' data not found"):
        middlebury_other(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="Download it from http://toflow.csail.mit.edu"):
        vimeo90k(tmp_path / "vimeo")
    with pytest.raises(FileNotFoundError, match="no Vimeo90K path given"):
        vimeo90k("")


def test_vimeo_list_reader(tmp_path):
    seq = tmp_path / "sequences" / "00001" / "0001"
    seq.mkdir(parents=True)
    for k in (1, 2, 3):
        write_png(seq / f"im{k}.png", np.full((16, 16, 3), 10 * k, np.uint8))
    (tmp_path / "tri_testlist.txt").write_text("00001/0001\n\n")
    windows = vimeo90k(tmp_path, "test")
    assert len(windows) == 1 and windows[0].frames[1].name == "im2.png"
    assert load_window(windows[0]).lr[1].shape == (4, 4, 3)


def test_write_png_is_atomic_and_round_trips(tmp_path):
    img = np.random.default_rng(2).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    path = write_png(tmp_path / "out" / "x.png", img)
    assert np.array_equal(read_rgb(path), img)
    assert [p.name for p in path.parent.iterdir()] == ["x.png"]


def test_video_files_stream_frames_with_their_rate(tmp_path):
    import imageio_ffmpeg

    path = tmp_path / "clip.mp4"
    writer = imageio_ffmpeg.write_frames(str(path), (32, 16), fps=12.5, codec="libx264", quality=10,
                                         macro_block_size=1, output_params=["-pix_fmt", "yuv444p"])
    writer.send(None)
    for k in range(5):
        writer.send(np.full((16, 32, 3), 40 * k, np.uint8).tobytes())
    writer.close()
    info = probe_video(path)
    assert info.fps == pytest.approx(12.5) and info.size == (32, 16)
    frames = list(iter_video_frames(path))
    assert len(frames) == 5 and frames[0].shape == (16, 32, 3)
    assert abs(int(frames[3].mean()) - 120) <= 3
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="cannot read video .*bad.mp4"):
        list(iter_video_frames(tmp_path / "bad.mp4"))


# --- samples for the networks -----------------------------------------------------------------------

def test_eval_windows_items(tmp_path):
    ds = EvalWindows(middlebury_other()[:1], flow_cache=FlowCache(tmp_path))
    item = ds[0]
    assert item["lr_t"].shape == (3, 120, 160) and item["flow_fwd"].shape == (2, 120, 160)
    assert item["flow_fwd"].abs().max() <= 1.0
    hr_inputs = EvalWindows(middlebury_other()[:1], flow_cache=FlowCache(tmp_path), inputs="hr")[0]
    assert hr_inputs["lr_t"].shape == (3, 480, 640)


def test_random_crops_are_aligned_augmented_and_reproducible(tmp_path):
    windows = davis_triplets()[:2]
    ds = RandomCropWindows(windows, patch=16, samples_per_epoch=8, flow_cache=FlowCache(tmp_path), seed=3)
    a, b = ds[5], ds[5]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert a["hr"].shape == (3, 3, 64, 64) and a["lr"].shape == (3, 3, 16, 16)
    assert a["flow_fwd_gt"].shape == (2, 16, 16)
    ds.epoch = 1
    assert not torch.equal(ds[5]["hr"], a["hr"])
    # Every crop's LR frames are the PIL-bicubic LR of the full frame, cut at the matching place.
    plain = RandomCropWindows(windows[:1], patch=16, samples_per_epoch=4, augment=False,
                              flow_cache=FlowCache(tmp_path), normalization="unit")
    item = plain[0]
    hr = to_uint8(item["hr"][1], "unit")
    lr = to_uint8(item["lr"][1], "unit")
    stack = load_window(windows[0])
    full_hr, full_lr = stack.hr[1], stack.lr[1]
    ys, xs = np.nonzero((full_lr[:-15, :-15, 0] == lr[0, 0, 0]))
    found = [(y, x) for y, x in zip(ys, xs) if np.array_equal(full_lr[y:y + 16, x:x + 16], lr)]
    assert found, "the LR crop is not a window of the full LR frame"
    y, x = found[0]
    assert np.array_equal(full_hr[4 * y:4 * y + 64, 4 * x:4 * x + 64], hr)


def test_flips_move_flows_with_the_frames():
    from starlib.data.samples import _augment_flow

    flow = np.zeros((4, 5, 2), np.float32)
    flow[1, 0] = (2.0, 3.0)
    out = _augment_flow(flow, hflip=True, vflip=False)
    assert tuple(out[1, 4]) == (-2.0, 3.0)
    out = _augment_flow(flow, hflip=True, vflip=True)
    assert tuple(out[2, 4]) == (-2.0, -3.0)


def test_odd_window_lengths_only(tmp_path):
    w = Window("x", tuple(davis_triplets()[0].frames[:2]))
    with pytest.raises(ValueError, match="same odd length"):
        RandomCropWindows([w], flow_cache=FlowCache(tmp_path))


def test_patch_zero_gives_full_frames(tmp_path):
    w = middlebury_other()[1]  # Venus: LR 105x95
    ds = RandomCropWindows([w], patch=0, augment=False, samples_per_epoch=1, flow_cache=FlowCache(tmp_path))
    item = ds.sample(0, 0)
    assert item["lr"].shape == (3, 3, 95, 105) and item["hr"].shape == (3, 3, 380, 420)
    batch = ds.batch(3, range(2))
    assert batch["lr"].shape == (2, 3, 3, 95, 105) and batch["flow_fwd"].shape == (2, 2, 95, 105)


def test_static_items_repeat_the_first_frame_with_zero_flows_and_leave_the_moving_ones_alone(tmp_path):
    """TrainConfig.static_items (issue 12): a static item's frames are all its first, its flows zero; the coin
    is drawn last, so every other item is the one static_prob=0 gives (old runs keep their batches)."""
    from starlib.flow import FlowCache
    from starlib.train import TrainConfig
    windows = davis_triplets()[:2]
    cache = FlowCache(tmp_path)
    plain = RandomCropWindows(windows, patch=16, flow_cache=cache, seed=3)
    mixed = RandomCropWindows(windows, patch=16, flow_cache=cache, seed=3, static_prob=0.5)
    n_static = 0
    for j in range(12):
        a, b = plain.sample(5, j), mixed.sample(5, j)
        if all(torch.equal(a[k], b[k]) for k in a):
            continue
        n_static += 1
        for key in ("lr", "hr"):
            assert all(torch.equal(b[key][i], a[key][0]) for i in range(b[key].shape[0]))   # the first frame
        assert all(not b[k].any() for k in b if k.startswith("flow"))
    assert 2 <= n_static <= 10                                         # about half of 12
    every = RandomCropWindows(windows, patch=16, flow_cache=cache, seed=3, static_prob=1.0).sample(0, 0)
    assert torch.equal(every["lr"][1], every["lr"][0]) and not every["flow_fwd"].any()
    with pytest.raises(ValueError, match="static_prob"):
        RandomCropWindows(windows, patch=16, flow_cache=cache, static_prob=1.5)
    with pytest.raises(ValueError, match="static_items"):
        TrainConfig(static_items=-0.1)
    assert "static_items" not in TrainConfig().to_dict()               # off: run names unchanged
