"""Hostile input to `python -m starlib enhance` and the readers behind it: each case either works right or stops
with one line that names the file and the fix, and nothing that existed before a failed run is lost.

Cases: natural frame order; output folders written beside the target and swapped in (an earlier output survives
a failed run, SIGTERM/SIGINT leave no `.partial`); output = input, inside the input, containing the input;
outputs under a file or onto a file; bad --fps; a folder as --checkpoint; decompression bombs and frames beyond
the pixel bound; 16-bit-per-channel images; NaN weights and non-finite outputs; variable-frame-rate video.
One-line errors are checked through `starlib.__main__.main` in-process (what the CLI prints); the signal cases
run the CLI in a subprocess on a few tiny frames with the demo checkpoint.
"""

import json
import os
import signal
import struct
import subprocess
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from starlib.__main__ import main
from starlib.data.images import MAX_PIXELS, ImageError, list_images, natural_key, read_rgb, write_png
from starlib.data.sources import frame_folder, iter_video_frames, probe_video
from starlib.infer.enhance import DEMO_ST, EnhanceError, NonFiniteOutputError, enhance, enhance_frames, load_for_mode
from starlib.infer.runner import PairRunner, Settings, STARMethod, check_finite
from starlib.infer.videoio import (MediaError, Terminated, _critical, check_output, cleanup_on_signals, open_input,
                                   _on_signal)
from starlib.models import STARnet, save_checkpoint
from starlib.models.checkpoint import CheckpointError
from starlib.util.paths import REPO_ROOT

from helpers import tiny_config
from test_enhance import S, ST, T, real_frames, write_folder, write_mp4


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name or p.name.endswith(".old"))


def run_cli(capsys, *args) -> tuple[int, str]:
    """``python -m starlib enhance ARGS --quiet`` in-process: (exit status, stderr)."""
    rc = main(["enhance", *map(str, args), "--quiet", "--device", "cpu"])
    return rc, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if the network runs: the case must be refused before anything is computed."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the network ran before the bad argument was refused")
    monkeypatch.setattr(PairRunner, "forward", forbidden)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("clip"), real_frames(3, 16, 16))


def earlier_output(folder: Path, n: int = 2) -> dict[str, bytes]:
    """What an earlier enhance run left in ``folder``: n frames and a video.json."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(real_frames(n, 16, 16, y=100)):
        write_png(folder / f"{i:06d}.png", f)
    (folder / "video.json").write_text(json.dumps({"fps": 50.0, "n_frames": n, "earlier": True}))
    return snapshot(folder)


# --- 1. natural frame order ---------------------------------------------------------------------------------

def test_frames_named_with_ffmpeg_default_numbers_come_in_numeric_order(tmp_path):
    names = [f"frame{i}.png" for i in range(1, 12)]                       # ffmpeg's default %d
    for k, name in enumerate(reversed(names)):
        write_png(tmp_path / name, np.full((4, 4, 3), k, np.uint8))
    assert [p.name for p in list_images(tmp_path)] == names
    assert [p.name for p in frame_folder(tmp_path).frames] == names
    assert open_input(tmp_path).names == names
    padded = [f"{i:04d}.png" for i in range(12)]                           # zero-padded names keep their order
    assert sorted(padded, key=natural_key) == sorted(padded)
    assert sorted(["b2.png", "a10.png", "a9.png", "a09.png"], key=natural_key) == ["a09.png", "a9.png", "a10.png",
                                                                                  "b2.png"]


def test_enhance_reads_frame10_after_frame2(tmp_path):
    frames = real_frames(3, 16, 16)
    for name, f in zip(("frame1.png", "frame2.png", "frame10.png"), frames):
        write_png(tmp_path / name, f)
    r = enhance(tmp_path, tmp_path.parent / f"{tmp_path.name}_t", mode=T, progress=False, device="cpu")
    out = [read_rgb(r.output / f"{i:06d}.png") for i in range(5)]
    for k in range(3):                  # mode t passes the input frames through unchanged, in order
        np.testing.assert_array_equal(out[2 * k], frames[k])


# --- 2. data loss: outputs written beside the target and swapped in ----------------------------------------

def test_a_run_that_fails_midway_leaves_the_earlier_output_as_it_was(tmp_path):
    a, b, c, d = real_frames(4, 16, 16)
    bad = write_folder(tmp_path / "in", [a, b, c, d[:12]])                  # the 4th frame has another size
    before = earlier_output(tmp_path / "out")
    with pytest.raises(MediaError, match=r"03\.png is 16x12 but 00\.png is 16x16"):
        enhance(bad, tmp_path / "out", overwrite=True, progress=False, device="cpu")
    assert snapshot(tmp_path / "out") == before
    assert partials(tmp_path) == []


def test_overwrite_replaces_the_whole_folder_only_when_done(tmp_path, clip):
    earlier_output(tmp_path / "out", n=7)
    r = enhance(clip, tmp_path / "out", overwrite=True, progress=False, device="cpu")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [f"{i:06d}.png" for i in range(5)] + ["video.json"]    # no stale 000005.png, 000006.png
    assert "earlier" not in json.loads((tmp_path / "out" / "video.json").read_text())
    assert r.frames_out == 5 and partials(tmp_path) == []


def test_a_new_output_folder_appears_complete_or_not_at_all(tmp_path, clip, monkeypatch):
    from starlib.infer import videoio

    calls = []
    real = videoio.FolderSink.write

    def write_then_fail(self, frame):
        calls.append(self.tmp)
        assert not (tmp_path / "new").exists()          # frames go to the partial folder, not the target
        if len(calls) == 3:
            raise RuntimeError("disk full")
        real(self, frame)

    monkeypatch.setattr(videoio.FolderSink, "write", write_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        enhance(clip, tmp_path / "deep" / "new", progress=False, device="cpu")
    assert calls[0].name.startswith(".new.") and calls[0].name.endswith(".partial")
    assert not (tmp_path / "deep").exists()            # the folders it created are gone again


@pytest.mark.parametrize("overwrite", [False, True])
def test_output_equal_to_the_input_folder_is_refused_and_the_inputs_survive(tmp_path, clip, capsys, no_compute,
                                                                         overwrite):
    earlier = tmp_path / "earlier"
    before = earlier_output(earlier, n=3)               # an earlier enhance output fed back as input
    rc, err = run_cli(capsys, earlier, "-o", earlier, *(["--overwrite"] if overwrite else []))
    line = one_line(err)
    assert rc == 2 and f"output {earlier} is the input" in line and "write to another folder" in line
    assert snapshot(earlier) == before


def test_output_inside_or_around_the_input_is_refused(tmp_path, capsys, no_compute):
    inp = write_folder(tmp_path / "frames", real_frames(2, 16, 16))
    before = snapshot(inp)
    rc, err = run_cli(capsys, inp, "-o", inp / "x4")
    assert rc == 2 and "lies inside the input folder" in one_line(err) and "frames_enhanced" in err
    rc, err = run_cli(capsys, inp, "-o", inp / "x4.mp4")
    assert rc == 2 and "lies inside the input folder" in one_line(err)
    earlier = tmp_path / "earlier"
    before_earlier = earlier_output(earlier, n=2)        # one frame of an earlier output, written over its folder
    rc, err = run_cli(capsys, earlier / "000001.png", "-o", earlier, "--mode", "s", "--overwrite")
    assert rc == 2 and "contains the input" in one_line(err)
    assert snapshot(inp) == before and snapshot(earlier) == before_earlier
    assert not (inp / "x4").exists()


def test_the_working_folder_as_output_is_refused_when_it_holds_the_input(tmp_path, capsys, no_compute,
                                                                         monkeypatch):
    inp = write_folder(tmp_path / "frames", real_frames(2, 16, 16))
    monkeypatch.chdir(tmp_path)
    for out in (".", "frames/.."):
        rc, err = run_cli(capsys, "frames", "-o", out, "--overwrite")
        assert rc == 2 and "contains the input" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"] and len(list(inp.iterdir())) == 2


def test_output_equal_to_the_input_video_is_refused(tmp_path, capsys, no_compute):
    src = write_mp4(tmp_path / "in.mp4", real_frames(2, 16, 16), fps=10)
    before = src.read_bytes()
    rc, err = run_cli(capsys, src, "-o", tmp_path / "." / "in.mp4", "--overwrite")
    assert rc == 2 and "is the input" in one_line(err) and "in_enhanced.mp4" in err
    assert src.read_bytes() == before


def test_a_folder_with_other_files_is_never_replaced(tmp_path, clip, capsys, no_compute):
    out = tmp_path / "out"
    earlier_output(out)
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    rc, err = run_cli(capsys, clip, "-o", out, "--overwrite")
    line = one_line(err)
    assert rc == 2 and str(out) in line and "notes.txt" in line and "new or empty folder" in line
    assert snapshot(out) == before


def test_an_empty_existing_folder_takes_the_output(tmp_path, clip):
    (tmp_path / "empty").mkdir()
    r = enhance(clip, tmp_path / "empty", mode=S, progress=False, device="cpu")
    assert r.frames_out == 3 and (tmp_path / "empty" / "video.json").is_file()


# --- SIGTERM / SIGINT: no .partial left, the earlier output intact ------------------------------------------

def _wait_for(predicate, proc, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"enhance ended (rc {proc.returncode}) before it could be interrupted: "
                                 f"{proc.stderr.read()}")
        if time.monotonic() > end:
            raise AssertionError("enhance did not start writing in time")
        time.sleep(0.05)


@pytest.mark.parametrize("kind,signum", [("folder", signal.SIGTERM), ("video", signal.SIGTERM),
                                         ("folder", signal.SIGINT)])
def test_a_signal_mid_run_leaves_no_partial_and_the_earlier_output(tmp_path, kind, signum):
    inp = write_folder(tmp_path / "in", real_frames(12, 32, 32) * 8)                   # 96 frames: seconds of work
    out = tmp_path / ("out" if kind == "folder" else "out.mp4")
    if kind == "folder":
        before = earlier_output(out)
    else:
        out.write_bytes(b"an earlier video")
        before = {"out.mp4": out.read_bytes()}
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "starlib", "enhance", str(inp), "-o", str(out), "--overwrite",
                             "--quiet", "--device", "cpu", "--checkpoint", str(DEMO_ST)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a job started in the background of a non-interactive shell (CI, nohup) inherits
                            # SIGINT ignored, and Python then never raises KeyboardInterrupt: give the child the
                            # default disposition, as a terminal would
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        if kind == "folder":        # at least one frame computed and written into the partial folder
            _wait_for(lambda: any(any(p.glob("*.png")) for p in tmp_path.glob(".out.*.partial")), proc)
        else:                       # the partial video exists: the sink is open, frames are being computed
            _wait_for(lambda: any(tmp_path.glob(".out.mp4.*.partial.mp4")), proc)
            time.sleep(0.5)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == (143 if signum == signal.SIGTERM else 130), err
    assert "Traceback" not in err, err
    if signum == signal.SIGTERM:
        assert "terminated by SIGTERM; nothing written to" in err
    assert partials(tmp_path) == [], "temporary output left behind"
    assert (snapshot(out) if kind == "folder" else {"out.mp4": out.read_bytes()}) == before


def test_signal_handlers_are_restored_and_a_swap_is_never_cut_in_half():
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        pytest.skip("SIGTERM has a handler in this test process")
    mine = lambda signum, frame: None  # noqa: E731
    previous = signal.signal(signal.SIGHUP, mine)
    try:
        with cleanup_on_signals():              # a handler someone installed is left alone
            assert signal.getsignal(signal.SIGHUP) is mine
    finally:
        signal.signal(signal.SIGHUP, previous)
    with cleanup_on_signals():
        assert signal.getsignal(signal.SIGTERM) is _on_signal
        with pytest.raises(Terminated) as caught:
            with _critical():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)                       # delivered, but deferred to the end of the block
                done = True
        assert done and caught.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# --- 3. pixel bound -----------------------------------------------------------------------------------------

def bilevel_png(path: Path, width: int, height: int) -> Path:
    """A valid all-black 1-bit PNG of width x height, compressed in chunks (a few KB per 100 MP)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = bytes(1 + (width + 7) // 8)                   # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row * 1000) for _ in range(height // 1000)) + z.compress(row * (height % 1000))
    idat += z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def test_a_decompression_bomb_is_refused_with_one_line(tmp_path, capsys, no_compute):
    folder = tmp_path / "frames"
    folder.mkdir()
    bomb = bilevel_png(folder / "bomb.png", 15000, 15000)              # 225 MP declared
    assert bomb.stat().st_size < 40_000
    with pytest.raises(ImageError, match=r"bomb\.png: the image declares more pixels than Pillow's "
                                         r"decompression-bomb limit"):
        read_rgb(bomb)
    write_png(folder / "ok.png", np.zeros((16, 16, 3), np.uint8))
    rc, err = run_cli(capsys, bomb, "-o", tmp_path / "out", "--mode", "s")
    assert rc == 2 and str(bomb) in one_line(err)
    assert not (tmp_path / "out").exists() and partials(tmp_path) == []


def test_frames_beyond_the_pixel_bound_are_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import ImageFile

    big = bilevel_png(tmp_path / "big.png", 12000, 8000)                # 96 MP: 288 MB as RGB
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded before refusing"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                 # and no Pillow warning on top
        with pytest.raises(ImageError) as caught:
            read_rgb(big)
    msg = str(caught.value)
    assert str(big) in msg and "12000x8000" in msg and "96.0 MP" in msg and f"{MAX_PIXELS:,}" in msg
    assert "convert big.png -resize 50%" in msg and "STARLIB_MAX_PIXELS" in msg


def test_the_pixel_bound_can_be_moved_and_applies_to_videos(tmp_path, monkeypatch):
    small = write_png(tmp_path / "small.png", np.zeros((16, 16, 3), np.uint8))
    video = write_mp4(tmp_path / "v.mp4", real_frames(2, 16, 16), fps=10)
    monkeypatch.setenv("STARLIB_MAX_PIXELS", "100")
    with pytest.raises(ImageError, match=r"small\.png: image of 16x16 px .* more than starlib reads \(100 px"):
        read_rgb(small)
    with pytest.raises(ImageError, match=r"v\.mp4: video frames of 16x16 px"):
        open_input(video)
    monkeypatch.setenv("STARLIB_MAX_PIXELS", "lots")
    with pytest.raises(ImageError, match=r"STARLIB_MAX_PIXELS='lots' is not a positive whole number"):
        read_rgb(small)
    monkeypatch.setenv("STARLIB_MAX_PIXELS", "256")
    assert read_rgb(small).shape == (16, 16, 3)


# --- 16 bits per channel --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,channels", [("rgb48.png", 3), ("rgba64.png", 4), ("rgb48.tif", 3), ("rgb16.ppm", 3)])
def test_16_bit_per_channel_images_are_refused(tmp_path, name, channels):
    import cv2

    deep = (np.arange(8 * 8 * channels).reshape(8, 8, channels) * 500).astype(np.uint16)
    if channels == 4:
        deep[..., 3] = 65535
    path = tmp_path / name
    assert cv2.imwrite(str(path), deep)
    with pytest.raises(ImageError, match=rf"{name.replace('.', '[.]')} is a 16-bit-per-channel .* -depth 8"):
        read_rgb(path)
    eight = tmp_path / f"8bit{path.suffix}"                            # the same formats at 8 bits still read
    assert cv2.imwrite(str(eight), (deep >> 8).astype(np.uint8)[..., :3])
    assert read_rgb(eight).shape == (8, 8, 3)


# --- 4. NaN weights and non-finite outputs --------------------------------------------------------------------

def test_check_finite_is_exact():
    check_finite(torch.full((3, 4, 4), 3e38), "sr_t")                  # the sum overflows, the values are finite
    for bad in (float("nan"), float("inf"), -float("inf")):
        t = torch.zeros(3, 4, 4)
        t[1, 2, 3] = bad
        with pytest.raises(NonFiniteOutputError, match=r"sr_mid output is not finite") as caught:
            check_finite(t, "sr_mid")
        assert caught.value.output == "sr_mid" and isinstance(caught.value, EnhanceError)


def test_the_finiteness_check_leaves_outputs_bit_identical(monkeypatch):
    from starlib.infer import runner

    model = load_for_mode(DEMO_ST, ST)[0]
    a, b = real_frames(2, 20, 28)
    keys = ("sr_t", "sr_mid", "sr_t1", "lr_mid")
    checked = PairRunner(model, Settings(tile=16, overlap=8, margin=2), "cpu").run(a, b, keys)
    monkeypatch.setattr(runner, "check_finite", lambda t, key: None)
    unchecked = PairRunner(model, Settings(tile=16, overlap=8, margin=2), "cpu").run(a, b, keys)
    for k in keys:
        np.testing.assert_array_equal(checked[k], unchecked[k])


def _blown_up(factor: float) -> STARnet:
    torch.manual_seed(0)
    model = STARnet(tiny_config(global_residual=True))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(factor)
    return model


def test_non_finite_outputs_raise_in_scoring_and_in_enhance(tmp_path):
    from starlib.data.samples import FrameStack
    from starlib.flow import FlowCache

    model = _blown_up(1e30)                                             # finite weights, outputs overflow
    lr = real_frames(2, 16, 16)
    stack = FrameStack("pair", [lr[0]] * 3, [lr[0], lr[0], lr[1]])
    with pytest.raises(NonFiniteOutputError, match=r"the network's sr_t output is not finite"):
        STARMethod(model, FlowCache(None))(stack)
    with pytest.raises(NonFiniteOutputError, match=r"clip: frame 0 \(a\.png\) and frame 1 \(b\.png\): the "
                                                   r"network's sr_t output is not finite"):
        list(enhance_frames(lr, model, ST, device="cpu", source="clip", names=["a.png", "b.png"]))


def test_enhance_names_the_frames_whose_output_is_not_finite(tmp_path, capsys):
    ckpt = save_checkpoint(_blown_up(1e30), tmp_path / "huge.pt", extra={"objective": "STAR-ST"})
    inp = tmp_path / "in"
    inp.mkdir()
    for name, f in zip(("f1.png", "f2.png", "f10.png"), real_frames(3, 16, 16)):
        write_png(inp / name, f)
    rc, err = run_cli(capsys, inp, "-o", tmp_path / "out", "--checkpoint", ckpt)
    line = one_line(err)
    assert rc == 2 and f"{inp}: frame 0 (f1.png) and frame 1 (f2.png)" in line and "not finite" in line
    assert not (tmp_path / "out").exists() and partials(tmp_path) == []


def test_a_checkpoint_with_nan_weights_is_refused_when_loaded(tmp_path, capsys, clip, no_compute):
    model = STARnet(tiny_config(global_residual=True))
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    ckpt = save_checkpoint(model, tmp_path / "nan.pt", extra={"objective": "STAR-ST"})
    rc, err = run_cli(capsys, clip, "-o", tmp_path / "out", "--checkpoint", ckpt)
    line = one_line(err)
    assert rc == 2 and str(ckpt) in line and "non-finite" in line and "earlier checkpoint" in line
    with pytest.raises((EnhanceError, CheckpointError), match=r"non-finite"):
        load_for_mode(ckpt, ST)


# --- 6. one-line errors before anything is computed -------------------------------------------------------------

def test_output_under_a_regular_file_is_refused_before_computing(tmp_path, clip, capsys, no_compute):
    (tmp_path / "file.txt").write_text("x")
    for out in (tmp_path / "file.txt" / "out", tmp_path / "file.txt" / "a" / "out.mp4"):
        rc, err = run_cli(capsys, clip, "-o", out)
        assert rc == 2 and f"{tmp_path / 'file.txt'} is a file, not a folder" in one_line(err)
    assert (tmp_path / "file.txt").read_text() == "x"


@pytest.mark.parametrize("overwrite", [False, True])
def test_an_existing_file_without_extension_is_not_taken_for_a_folder(tmp_path, clip, capsys, no_compute,
                                                                     overwrite):
    (tmp_path / "result").write_text("keep me")
    rc, err = run_cli(capsys, clip, "-o", tmp_path / "result", *(["--overwrite"] if overwrite else []))
    line = one_line(err)
    assert rc == 2 and "exists and is a file, not a folder" in line and "video extension" in line
    assert (tmp_path / "result").read_text() == "keep me"


@pytest.mark.parametrize("fps", ["0", "-5", "nan", "inf", "-inf"])
def test_a_frame_rate_must_be_a_positive_number(tmp_path, clip, capsys, no_compute, fps):
    rc, err = run_cli(capsys, clip, "-o", tmp_path / "out", f"--fps={fps}")
    assert rc == 2 and "is not a frame rate" in one_line(err) and "--fps 25" in err
    assert not (tmp_path / "out").exists()


def test_a_folder_with_a_bad_frame_rate_file_is_refused(tmp_path, capsys, no_compute):
    inp = write_folder(tmp_path / "in", real_frames(2, 16, 16))
    (inp / "video.json").write_text(json.dumps({"fps": 0}))
    rc, err = run_cli(capsys, inp, "-o", tmp_path / "out")
    assert rc == 2 and "video.json: its fps 0.0 is not a frame rate" in one_line(err)


def test_a_folder_as_checkpoint_says_what_to_pass(tmp_path, clip, capsys, no_compute):
    run = tmp_path / "runs" / "STAR-ST-abc"
    run.mkdir(parents=True)
    rc, err = run_cli(capsys, clip, "-o", tmp_path / "out", "--checkpoint", run)
    line = one_line(err)
    assert rc == 2 and f"--checkpoint {run} is a folder, not a checkpoint file" in line and "model.pt" in line
    save_checkpoint(STARnet(tiny_config()), run / "model.pt", extra={"objective": "STAR-ST"})
    rc, err = run_cli(capsys, clip, "-o", tmp_path / "out", "--checkpoint", run)
    assert rc == 2 and f"--checkpoint {run / 'model.pt'})" in one_line(err)


def test_check_output_accepts_what_is_fine(tmp_path, clip):
    assert check_output(tmp_path / "new" / "deeper", source=clip) == "folder"
    assert check_output(tmp_path / "x.mp4", source=clip) == "video"
    assert not (tmp_path / "new").exists()                             # checking creates nothing


# --- variable frame rate --------------------------------------------------------------------------------------

def vfr_mp4(path: Path, frames: list[np.ndarray], durations: list[float]) -> Path:
    """An H.264 file whose frames last ``durations`` seconds each (ffmpeg concat demuxer, vfr muxing)."""
    import imageio_ffmpeg

    lines = []
    for i, (f, d) in enumerate(zip(frames, durations)):
        write_png(path.parent / f"_vfr{i}.png", f)
        lines += [f"file '{path.parent / f'_vfr{i}.png'}'", f"duration {d}"]
    (path.parent / "_vfr.txt").write_text("\n".join(lines) + "\n")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i",
                    str(path.parent / "_vfr.txt"), "-fps_mode", "vfr", "-c:v", "libx264", "-pix_fmt", "yuv444p",
                    "-crf", "0", str(path)], check=True, timeout=60)
    return path


def test_a_variable_frame_rate_video_gives_its_real_frames_and_a_warning(tmp_path, capsys):
    frames = [np.full((16, 16, 3), 40 * i, np.uint8) for i in range(5)]
    vfr = vfr_mp4(tmp_path / "phone.mp4", frames, [0.1, 0.1, 0.4, 0.1, 0.3])
    info = probe_video(vfr)
    assert info.variable_rate and info.intervals[1] >= 3 * info.intervals[0]
    decoded = list(iter_video_frames(vfr))
    assert len(decoded) == info.n_frames
    assert [int(f.mean()) for f in decoded] == [0, 40, 80, 120, 160]     # as stored: nothing duplicated
    clip = open_input(vfr)
    err = capsys.readouterr().err
    assert f"warning: {vfr} has a variable frame rate" in err and "-fps_mode cfr" in err
    assert clip.fps_source.startswith("container (average")
    r = enhance(vfr, tmp_path / "t", mode=T, progress=False, device="cpu")
    assert r.frames_out == 2 * 5 - 1 and r.fps_out == pytest.approx(2 * info.fps)
    assert json.loads((tmp_path / "t" / "video.json").read_text())["fps_in_from"].startswith("container (average")
    capsys.readouterr()
    cfr = write_mp4(tmp_path / "steady.mp4", real_frames(3, 16, 16), fps=12)
    assert not probe_video(cfr).variable_rate
    open_input(cfr)
    assert "variable" not in capsys.readouterr().err
