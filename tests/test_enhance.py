"""`python -m starlib enhance`: frame counts, sizes and frame rates, streaming, tiling, and bad input.

Real frames: small crops of the embedded TOFlow clip (consecutive 1280x720 frames); the model is the shipped
demo checkpoint (cpu profile), so these tests also check that it loads and runs from a fresh clone.
"""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from starlib.data.degrade import to_uint8
from starlib.data.images import read_rgb, write_png
from starlib.data.samples import FrameStack
from starlib.data.sources import probe_video, toflow_frames
from starlib.flow import FlowCache
from starlib.infer.enhance import (DEMO_ST, DEMO_T_HR, ENHANCE_MODES, EnhanceError, Settings, enhance, enhance_frames,
                                   input_geometry, load_for_mode, objectives_for_mode, resolve_device)
from starlib.infer.runner import PairRunner, STARMethod, _uint8_inplace
from starlib.infer.tiling import tiled_forward
from starlib.models import STARnet, save_checkpoint
from starlib.paper.objectives import OBJECTIVES
from starlib.util.paths import REPO_ROOT
from starlib.infer.videoio import MediaError, open_input

#: The enhance modes as records: the library takes records; names are parsed at the edge (the CLI).
ST, S, T = (ENHANCE_MODES[m] for m in ("st", "s", "t"))

from helpers import tiny_config


@pytest.fixture(autouse=True)
def _threads():
    """Respect OMP_NUM_THREADS (conftest sets 2 threads for the whole session)."""
    before = torch.get_num_threads()
    torch.set_num_threads(min(before, int(os.environ.get("OMP_NUM_THREADS", before))))
    yield
    torch.set_num_threads(before)


def real_frames(n: int = 3, h: int = 24, w: int = 32, y: int = 300, x: int = 600) -> list[np.ndarray]:
    """n consecutive real frames, cropped to h x w."""
    root = toflow_frames()
    return [read_rgb(root / f"{i:02d}.png")[y:y + h, x:x + w].copy() for i in range(1, n + 1)]


def write_folder(folder, frames):
    for i, f in enumerate(frames):
        write_png(folder / f"{i:02d}.png", f)
    return folder


def write_mp4(path, frames, fps):
    import imageio_ffmpeg

    h, w = frames[0].shape[:2]
    writer = imageio_ffmpeg.write_frames(str(path), (w, h), fps=fps, codec="libx264", macro_block_size=1,
                                         quality=None, output_params=["-crf", "10"])
    writer.send(None)
    for f in frames:
        writer.send(np.ascontiguousarray(f))
    writer.close()
    return path


@pytest.fixture(scope="module")
def st_model():
    return load_for_mode(DEMO_ST, ST)[0]


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("clip"), real_frames())


def cli(*args):
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    return subprocess.run([sys.executable, "-m", "starlib", "enhance", *map(str, args), "--quiet"], cwd=REPO_ROOT,
                          capture_output=True, text=True, env=env, timeout=300)


# --- outputs --------------------------------------------------------------------------------------------

def test_demo_checkpoints_ship_with_the_repository():
    for path, objective in ((DEMO_ST, "STAR-ST"), (DEMO_T_HR, "STAR-T_HR")):
        assert path.is_file() and path.stat().st_size < 8 * 2**20
        out = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO_ROOT)
        assert out.returncode == 1, f"{path} is git-ignored"
        assert load_for_mode(path, T if objective == "STAR-T_HR" else ST)[1] == objective


def test_st_folder_gives_2n_minus_1_frames_at_4x_and_twice_the_fps(clip_dir, tmp_path):
    out = tmp_path / "out"
    r = enhance(clip_dir, out, progress=False, fps=12)
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == [f"{i:06d}.png" for i in range(5)]
    assert all(read_rgb(out / n).shape == (96, 128, 3) for n in names)
    meta = json.loads((out / "video.json").read_text())
    assert meta["fps"] == 24 and meta["n_frames"] == 5 and meta["mode"] == "st"
    assert (r.frames_in, r.frames_out, r.size_in, r.size_out) == (3, 5, (32, 24), (128, 96))
    again = open_input(out)                 # an output folder is a valid input, with its frame rate
    assert (again.fps, again.fps_source, again.n_frames) == (24, "video.json", 5)


def test_cli_video_round_trip_keeps_the_frame_rate_right(tmp_path):
    src = write_mp4(tmp_path / "in.mp4", real_frames(3, 16, 16), fps=12)
    res = cli(src, "-o", tmp_path / "out.mp4")
    assert res.returncode == 0, res.stderr
    info = probe_video(tmp_path / "out.mp4")
    assert info.fps == pytest.approx(24) and info.n_frames == 5 and info.size == (64, 64)
    assert not list(tmp_path.glob(".out.*")), "temporary file left behind"
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out.mp4").stat().st_mode & 0o777 == 0o666 & ~mask   # not mkstemp's 0600


def test_space_only_and_time_only(clip_dir, tmp_path):
    frames = real_frames()
    r = enhance(clip_dir, tmp_path / "s", mode=S, progress=False)
    assert (r.frames_out, r.size_out, r.fps_out) == (3, (128, 96), r.fps_in)
    r = enhance(clip_dir, tmp_path / "t", mode=T, progress=False)
    assert (r.frames_out, r.size_out, r.fps_out) == (5, (32, 24), 2 * r.fps_in)
    outs = [read_rgb(tmp_path / "t" / f"{i:06d}.png") for i in range(5)]
    assert all(np.array_equal(outs[2 * i], frames[i]) for i in range(3))  # input frames pass through unchanged
    mid = outs[1].astype(float)
    assert np.abs(mid - (frames[0] / 2.0 + frames[1] / 2.0)).mean() < 10  # an in-between frame, not noise


def test_times_2_quadruples_the_frame_rate(tmp_path):
    folder = write_folder(tmp_path / "small", real_frames(2, 16, 16))
    r = enhance(folder, tmp_path / "x4", times=2, progress=False, fps=10)
    assert (r.frames_out, r.size_out, r.fps_out) == (4 * 2 - 3, (64, 64), 40)


def test_frames_are_streamed_not_collected(st_model):
    frames = real_frames(3, 16, 16) * 3     # 9 frames
    pulled = []

    def source():
        for i, f in enumerate(frames):
            pulled.append(i)
            yield f

    stream = enhance_frames(source(), st_model, ST, device="cpu", settings=Settings(prefetch_flows=False))
    first = next(stream)
    assert first.shape == (64, 64, 3)
    assert len(pulled) <= 3, f"{len(pulled)} of 9 frames read before the first output"
    rest = list(stream)
    assert len(rest) + 1 == 2 * 9 - 1 and len(pulled) == 9


def test_odd_and_tiny_frames_are_padded_and_cropped_back(st_model):
    assert input_geometry(st_model.cfg) == (1, 16)
    frames = [f[:7, :11] for f in real_frames(2, 16, 16)]
    out = list(enhance_frames(frames, st_model, S, device="cpu"))
    assert [o.shape for o in out] == [(28, 44, 3)] * 2


def test_odd_video_output_is_cropped_to_even_with_a_warning(tmp_path, capsys):
    folder = write_folder(tmp_path / "odd", real_frames(2, 15, 17))
    r = enhance(folder, tmp_path / "odd.mp4", mode=T, progress=False)
    assert r.size_out == (17, 15)
    assert probe_video(tmp_path / "odd.mp4").size == (16, 14)
    assert "cropped to 16x14" in capsys.readouterr().err


# --- tiling ---------------------------------------------------------------------------------------------

class LocalNet(nn.Module):
    """A STARnet stand-in whose receptive field is 1 input px: 3x3 convs (+ pixel shuffle for 4x outputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.cfg = SimpleNamespace(scale=4)
        self.up = nn.Conv2d(6, 3 * 16, 3, padding=1)
        self.mid = nn.Conv2d(6, 3, 3, padding=1)

    def forward(self, a, b, flow_fwd=None, flow_bwd=None):
        x = torch.cat([a, b], 1)                                  # (B, 6, h, w)
        return {"sr_t": nn.functional.pixel_shuffle(self.up(x), 4), "lr_mid": self.mid(x)}


def test_tiled_equals_untiled_when_the_receptive_field_fits_the_margin():
    torch.manual_seed(0)
    net, a, b = LocalNet().eval(), torch.randn(1, 3, 37, 45), torch.randn(1, 3, 37, 45)
    whole = tiled_forward(net, a, b, None, None, tile=0, keys=("sr_t", "lr_mid"))
    tiled = tiled_forward(net, a, b, None, None, tile=16, overlap=6, margin=1, keys=("sr_t", "lr_mid"))
    for k in whole:
        assert tiled[k].shape == whole[k].shape
        torch.testing.assert_close(tiled[k], whole[k], atol=1e-5, rtol=1e-5)
    seams = tiled_forward(net, a, b, None, None, tile=16, overlap=6, margin=0, keys=("sr_t",))["sr_t"]
    assert (seams - whole["sr_t"]).abs().max() > 1e-2   # without the margin, zero padding at tile borders shows


def _old_tiled_forward(model, a, b, tile, overlap, key):
    """tiled_forward before the margin was added (commit 84de403), for the backwards-compatibility check."""
    from starlib.infer.tiling import _starts

    def ramp(n, k_overlap, at_start, at_end):
        w = torch.ones(n)
        k = min(k_overlap, n // 2)
        if k > 0:
            r = torch.linspace(1.0 / (k + 1), k / (k + 1), k)
            if not at_start:
                w[:k] = r
            if not at_end:
                w[n - k:] = r.flip(0)
        return w

    s, (_, _, h, w) = model.cfg.scale, a.shape
    acc = norm = None
    for y in _starts(h, tile, overlap):
        for x in _starts(w, tile, overlap):
            out = model(a[..., y:y + tile, x:x + tile], b[..., y:y + tile, x:x + tile])[key]
            f = s if out.shape[-1] == s * tile else 1
            weight = ramp(tile * f, overlap * f, y == 0, y + tile == h)[:, None] * \
                ramp(tile * f, overlap * f, x == 0, x + tile == w)[None, :]
            if acc is None:
                acc, norm = out.new_zeros((1, 3, h * f, w * f)), out.new_zeros((1, 1, h * f, w * f))
            acc[..., y * f:(y + tile) * f, x * f:(x + tile) * f] += out * weight
            norm[..., y * f:(y + tile) * f, x * f:(x + tile) * f] += weight
    return acc / norm


def test_margin_0_blends_as_before():
    torch.manual_seed(1)
    net, a, b = LocalNet().eval(), torch.randn(1, 3, 37, 45), torch.randn(1, 3, 37, 45)
    with torch.no_grad():
        for key in ("sr_t", "lr_mid"):
            new = tiled_forward(net, a, b, None, None, tile=16, overlap=6, keys=(key,))[key]
            torch.testing.assert_close(new, _old_tiled_forward(net, a, b, 16, 6, key), atol=1e-5, rtol=1e-5)


def test_tiled_demo_model_stays_close_to_the_whole_frame(st_model):
    frames = real_frames(2, 24, 32)
    whole = list(enhance_frames(frames, st_model, ST, device="cpu", settings=Settings(tile=0)))
    tiled = list(enhance_frames(frames, st_model, ST, device="cpu", settings=Settings(tile=16, overlap=6, margin=2)))
    for w, t in zip(whole, tiled):
        diff = np.abs(w.astype(int) - t.astype(int))
        # measured: at most 1 level, on under 1 % of the pixels (mean 0.001-0.009)
        assert diff.max() <= 1 and diff.mean() < 0.05, (diff.mean(), diff.max())


def test_inplace_uint8_conversion_matches_to_uint8():
    t = torch.randn(3, 9, 11) * 2
    np.testing.assert_array_equal(_uint8_inplace(t.clone()), to_uint8(t))
    np.testing.assert_array_equal(_uint8_inplace(t.clone(), "unit"), to_uint8(t, "unit"))


# --- one runner for scoring and enhance ------------------------------------------------------------------

def test_scoring_and_enhance_run_a_pair_identically(tmp_path):
    """STARMethod (scoring) and enhance_frames (prefetching flows on a worker thread) go through one
    PairRunner: with the same settings (tile, overlap, margin 0, flow backend) their outputs are equal."""
    tile = 16                                       # 20x28 frames: 2x3 overlapping tiles
    torch.manual_seed(0)
    model = STARnet(tiny_config(global_residual=True))
    lr, hr = real_frames(2, 20, 28), real_frames(2, 20, 28, y=320, x=640)
    stack = FrameStack("pair", [hr[0], hr[0], hr[1]], [lr[0], lr[0], lr[1]])   # the middle frame is unused
    settings = Settings(tile=tile, overlap=8, margin=0, flow_cache=str(tmp_path))
    cache = FlowCache(tmp_path)
    scored = STARMethod(model, cache, tile=tile, overlap=8)(stack)
    enhanced = list(enhance_frames(lr, model, ST, settings=settings, device="cpu"))
    assert len(enhanced) == 3
    for frame, key in zip(enhanced, ("sr_t", "sr_mid", "sr_t1")):
        np.testing.assert_array_equal(frame, scored[key])
    hr_mid = STARMethod(model, cache, inputs="hr", tile=tile, overlap=8)(stack)["hr_mid"]
    np.testing.assert_array_equal(list(enhance_frames(hr, model, T, settings=settings, device="cpu"))[1], hr_mid)


def test_mode_preferences_come_from_the_objectives():
    assert objectives_for_mode(ST) == ("STAR-ST", "STAR")
    assert objectives_for_mode(S) == ("STAR-S", "STAR-ST", "STAR")
    assert objectives_for_mode(T) == ("STAR-T_HR",)
    for mode in (ST, S, T):                   # the objectives made for a mode come first
        made = [OBJECTIVES[n].enhance_mode == mode.name for n in objectives_for_mode(mode)]
        assert made == sorted(made, reverse=True) and made[0]
    for name, objective in OBJECTIVES.items():
        if objective.enhance_mode is not None:
            assert name in objectives_for_mode(ENHANCE_MODES[objective.enhance_mode])
    # HR inputs iff mode t: the one HR-input objective serves t and nothing else
    hr = tuple(n for n, o in OBJECTIVES.items() if o.inputs == "hr")
    assert objectives_for_mode(T) == hr and not set(hr) & set(objectives_for_mode(ST) + objectives_for_mode(S))



def test_mode_records_say_what_each_mode_writes_and_are_looked_up_once():
    from starlib.infer.modes import ENHANCE_MODES, SECOND_PASS, enhance_mode
    st, s, t = (ENHANCE_MODES[m] for m in ("st", "s", "t"))
    assert enhance_mode("st") is st and enhance_mode(st) is st and SECOND_PASS is t
    assert [m.frames_out(5, 1) for m in (st, s, t)] == [9, 5, 9] and st.frames_out(5, 2) == 17
    assert [m.fps_factor(2) for m in (st, s, t)] == [4, 1, 4]
    assert st.pair_keys(last=False) == ("sr_t", "sr_mid") and st.pair_keys(last=True) == ("sr_t", "sr_mid", "sr_t1")
    assert s.pair_keys(last=True) == ("sr_t", "sr_t1") and t.pair_keys(last=True) == ("lr_mid",)
    assert {o.enhance_mode for o in OBJECTIVES.values()} - {None} == set(ENHANCE_MODES)
    with pytest.raises(EnhanceError, match=r"unknown mode 'x'; choose one of \('st', 's', 't'\)"):
        enhance_mode("x")


# --- bad input -------------------------------------------------------------------------------------------

def test_missing_input_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.mp4 does not exist; pass a video file"):
        enhance(tmp_path / "nope.mp4", tmp_path / "out", progress=False)


def test_one_frame_video_is_refused_clearly(tmp_path):
    src = write_mp4(tmp_path / "one.mp4", real_frames(1), fps=10)
    res = cli(src, "-o", tmp_path / "out.mp4")
    assert res.returncode == 2
    assert str(src) in res.stderr and "holds 1 frame" in res.stderr and "--mode s" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob(".out.*"))


def test_unreadable_video_names_the_file_and_the_fix(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError, match=r"broken\.mp4.*re-encode"):
        enhance(bad, tmp_path / "out", progress=False)


@pytest.mark.parametrize("checkpoint,mode,expect", [
    (DEMO_T_HR, ST, r"star-t_hr-cpu\.pt holds a STAR-T_HR model.*needs a STAR-ST or STAR checkpoint.*--mode t"),
    (DEMO_ST, T, r"star-st-cpu\.pt holds a STAR-ST model \(an LR-input variant\).*needs a STAR-T_HR checkpoint"),
])
def test_wrong_variant_checkpoint_is_refused(clip_dir, tmp_path, checkpoint, mode, expect):
    with pytest.raises(EnhanceError, match=expect):
        enhance(clip_dir, tmp_path / "out", checkpoint=checkpoint, mode=mode, progress=False)


def test_second_pass_needs_a_t_hr_checkpoint(clip_dir, tmp_path):
    with pytest.raises(EnhanceError, match=r"star-st-cpu\.pt holds a STAR-ST.*needs a STAR-T_HR checkpoint: "
                                           r"pass --checkpoint2"):
        enhance(clip_dir, tmp_path / "out", times=2, checkpoint2=DEMO_ST, progress=False)
    with pytest.raises(EnhanceError, match=r"--times 2 .* needs --mode st or t"):
        enhance(clip_dir, tmp_path / "out", mode=S, times=2, progress=False)


def test_checkpoint_without_objective_is_refused(tmp_path):
    path = save_checkpoint(STARnet(tiny_config()), tmp_path / "anon.pt")
    with pytest.raises(EnhanceError, match=r"anon\.pt does not record the objective.*save_checkpoint"):
        load_for_mode(path, ST)


def test_frames_of_different_sizes_are_refused(tmp_path):
    a, b = real_frames(2)
    folder = write_folder(tmp_path / "mixed", [a, b[:20]])
    with pytest.raises(MediaError, match=r"01\.png is 32x20 but 00\.png is 32x24.*resize or crop"):
        enhance(folder, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_overwrite(clip_dir, tmp_path):
    (tmp_path / "taken.mp4").write_bytes(b"x")
    with pytest.raises(MediaError, match=r"taken\.mp4 exists.*--overwrite"):
        enhance(clip_dir, tmp_path / "taken.mp4", progress=False)


def test_tile_too_small_for_the_network(st_model):
    with pytest.raises(EnhanceError, match="--tile 6 is too small"):
        PairRunner(st_model, Settings(tile=6, overlap=2, margin=1), torch.device("cpu"))


def test_auto_device_picks_cuda_when_present():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(EnhanceError, match="no CUDA device; use --device cpu or auto"):
            resolve_device("cuda")
