"""A full disk: every writer stops with one line naming the path and the free space, and nothing that existed
before is lost (the earlier video, the last checkpoint) or left half-written (a ``.partial``, a ``.tmp``).

Each case runs twice where it can: on a real small filesystem the test mounts itself (a tmpfs, only as root:
skipped otherwise) and through a write hook that raises ENOSPC (or points ffmpeg at ``/dev/full``), which always
runs. Every mount is bounded to a few KiB and unmounted at the end.
"""

import errno
import os
import subprocess
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from starlib.infer import videoio
from starlib.util.atomic import DiskFullError, atomic_path, atomic_write_text, is_disk_full

from test_enhance import real_frames, write_folder, write_mp4
from test_hostile_enhance import one_line, run_cli


@contextmanager
def small_disk(parent: Path, size: str = "64k"):
    """A tmpfs of ``size`` mounted at a new folder under ``parent`` (skips the test when it cannot be mounted)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root; the write-hook version of this case runs instead")
    where = parent / f"disk-{uuid.uuid4().hex[:8]}"
    where.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                           capture_output=True, timeout=30, check=False)
    if mount.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)
        where.rmdir()


def fill(folder: Path) -> None:
    """Write a filler file until the filesystem holding ``folder`` is full."""
    with (folder / "filler").open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name or p.name.endswith(".tmp"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("clip"), real_frames(3, 16, 16))


# --- the video output: ffmpeg's failure is seen, the earlier video survives -------------------------------

def test_a_video_on_a_full_disk_fails_and_keeps_the_earlier_video(tmp_path, clip, capsys):
    with small_disk(tmp_path) as disk:
        earlier = write_mp4(disk / "out.mp4", real_frames(2, 16, 16, y=100), 25)
        before = earlier.read_bytes()
        fill(disk)
        rc, err = run_cli(capsys, clip, "-o", earlier, "--mode", "t", "--overwrite")
        line = one_line(err)
        assert rc == 2 and "No space left on device" in line and str(earlier) in line, line
        assert earlier.read_bytes() == before and leftovers(disk) == []
        (disk / "filler").unlink()
        rc, err = run_cli(capsys, clip, "-o", disk / "new.mp4", "--mode", "t")    # with space, the same run works
        assert rc == 0 and videoio.count_packets(disk / "new.mp4") == 5


def test_a_video_writer_that_hits_enospc_is_never_swapped_in(tmp_path, clip, capsys, monkeypatch):
    real = videoio.VideoSink._command

    def to_dev_full(self):                      # ffmpeg writes the video to /dev/full: every write is ENOSPC
        return [*real(self)[:-1], "-f", "mp4", "/dev/full"]
    monkeypatch.setattr(videoio.VideoSink, "_command", to_dev_full)
    earlier = write_mp4(tmp_path / "out.mp4", real_frames(2, 16, 16, y=100), 25)
    before = earlier.read_bytes()
    rc, err = run_cli(capsys, clip, "-o", earlier, "--mode", "t", "--overwrite")
    line = one_line(err)
    assert rc == 2 and "No space left on device" in line and "free some space" in line, line
    assert earlier.read_bytes() == before and leftovers(tmp_path) == []
    rc, err = run_cli(capsys, clip, "-o", tmp_path / "new.mp4", "--mode", "t")   # no earlier file: none is left
    assert rc == 2 and not (tmp_path / "new.mp4").exists() and leftovers(tmp_path) == []


def test_a_video_whose_index_lacks_frames_is_not_swapped_in(tmp_path, clip, capsys, monkeypatch):
    real = videoio.count_packets
    monkeypatch.setattr(videoio, "count_packets", lambda path: real(path) - 1)
    earlier = write_mp4(tmp_path / "out.mp4", real_frames(2, 16, 16, y=100), 25)
    before = earlier.read_bytes()
    rc, err = run_cli(capsys, clip, "-o", earlier, "--mode", "t", "--overwrite")
    line = one_line(err)
    assert rc == 2 and "holds 4 of the 5 frames sent" in line, line
    assert earlier.read_bytes() == before and leftovers(tmp_path) == []


def test_count_packets_reads_a_whole_video_and_refuses_a_cut_one(tmp_path):
    video = write_mp4(tmp_path / "v.mp4", real_frames(3, 16, 16), 25)
    assert videoio.count_packets(video) == 3
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    assert videoio.count_packets(cut) < 3


# --- the folder output: one line naming the output folder, the earlier folder survives --------------------

@pytest.fixture
def enospc_after(monkeypatch):
    """``enospc_after(n)``: the (n+1)-th atomic write and every later one fails with ENOSPC as it completes
    (the hook is the last step inside :func:`starlib.util.atomic.atomic_path`)."""
    from starlib.util import atomic

    def arm(n: int) -> None:
        calls = []
        real = atomic.default_file_mode

        def mode():
            calls.append(1)
            if len(calls) > n:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real()
        monkeypatch.setattr(atomic, "default_file_mode", mode)
    return arm


def earlier_folder(folder: Path) -> dict[str, bytes]:
    from starlib.data.images import write_png

    folder.mkdir(parents=True)
    for i, frame in enumerate(real_frames(2, 16, 16, y=100)):
        write_png(folder / f"{i:06d}.png", frame)
    (folder / "video.json").write_text('{"fps": 50.0, "n_frames": 2}')
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def check_folder_failure(rc, err, out: Path, before: dict[str, bytes]) -> None:
    line = one_line(err)
    assert rc == 2 and "no space left on the device to write" in line and f"{out} (" in line, line
    assert "nothing was replaced" in line and {p.name: p.read_bytes() for p in sorted(out.iterdir())} == before
    assert leftovers(out.parent) == []


def test_a_folder_output_on_a_full_disk_fails_and_keeps_the_earlier_folder(tmp_path, clip, capsys):
    with small_disk(tmp_path, "256k") as disk:
        before = earlier_folder(disk / "out")
        fill(disk)
        rc, err = run_cli(capsys, clip, "-o", disk / "out", "--mode", "t", "--overwrite")
        check_folder_failure(rc, err, disk / "out", before)


def test_a_folder_output_whose_writes_hit_enospc_keeps_the_earlier_folder(tmp_path, clip, capsys, enospc_after):
    before = earlier_folder(tmp_path / "out")
    enospc_after(2)                                     # the third frame finds the disk full
    rc, err = run_cli(capsys, clip, "-o", tmp_path / "out", "--mode", "t", "--overwrite")
    check_folder_failure(rc, err, tmp_path / "out", before)


# --- training: the file it could not write is named, a rerun resumes exactly ------------------------------

@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The tiny run of test_hostile_runs trained without interruption (what every resumed run must equal)."""
    from test_hostile_runs import _train

    return _train(tmp_path_factory.mktemp("straight"))


def test_training_on_a_disk_that_fills_names_the_file_and_resumes_exactly(tmp_path, straight):
    from test_hostile_runs import _same_weights, _train

    with small_disk(tmp_path, "16m") as disk:
        def fill_at_2(step, parts):
            if step == 2:
                fill(disk)
        with pytest.raises(DiskFullError, match=r"to write .*state\.pt \(.* free\); run .* keeps its last "
                                                r"checkpoint and a rerun resumes from it") as info:
            _train(disk / "runs", on_step=fill_at_2)
        assert "\n" not in str(info.value)
        (disk / "filler").unlink()
        resumed = _train(disk / "runs")
        assert _same_weights(resumed.model, straight.model)
        assert not list((disk / "runs").rglob("*.tmp"))


@pytest.mark.parametrize("writes_before_full, name", [(0, "config.json"), (2, "state.pt"), (5, "model.pt")])
def test_training_whose_writes_hit_enospc_names_the_file_and_resumes_exactly(tmp_path, enospc_after, monkeypatch,
                                                                             straight, writes_before_full, name):
    from starlib.util import atomic
    from test_hostile_runs import _same_weights, _train

    real = atomic.default_file_mode
    enospc_after(writes_before_full)                    # config.json, then one state.pt a step, then model.pt
    with pytest.raises(DiskFullError, match=f"to write .*{name} \\(") as info:
        _train(tmp_path / "runs")
    assert "\n" not in str(info.value) and "free some space and run again" in str(info.value)
    monkeypatch.setattr(atomic, "default_file_mode", real)
    resumed = _train(tmp_path / "runs")
    assert _same_weights(resumed.model, straight.model)
    assert not list((tmp_path / "runs").rglob("*.tmp"))


def test_a_training_log_that_cannot_be_appended_names_it(tmp_path, monkeypatch):
    from starlib.train import trainer
    from test_hostile_runs import _train

    real_open = Path.open

    def full_log(self, mode="r", *args, **kwargs):
        if self.name == "log.csv" and "a" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(self, mode, *args, **kwargs)
    monkeypatch.setattr(trainer.Path, "open", full_log)
    with pytest.raises(DiskFullError, match=r"log\.csv \(.*the run resumes from its last checkpoint"):
        _train(tmp_path / "runs")


# --- caches: a full disk is one warning, the results are still right --------------------------------------

def test_the_flow_cache_warns_once_and_carries_on(tmp_path, enospc_after, capsys):
    from starlib.flow import FlowCache, compute_flow

    frames = real_frames(3, 32, 32)
    cache = FlowCache(tmp_path / "flows", "dis_medium")
    enospc_after(0)
    flows = [cache.flow(a, b) for a, b in zip(frames, frames[1:])]
    for (a, b), flow in zip(zip(frames, frames[1:]), flows):
        np.testing.assert_array_equal(flow, compute_flow(a, b, "dis_medium"))
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("warning: flow cache: no space left") and "not cached" in err[0]
    assert not list((tmp_path / "flows").rglob("*.npy")) and not list((tmp_path / "flows").rglob("*.tmp"))


def test_the_score_cache_warns_and_returns_the_scores(tmp_path, enospc_after, capsys):
    from starlib.data import middlebury_other
    from starlib.evaluation.baselines import frame_average
    from starlib.evaluation.score_cache import ScoreCache

    def method(stack):
        return {"lr_mid": frame_average(stack.lr[0], stack.lr[-1])}
    windows = middlebury_other()[:2]
    enospc_after(0)
    table = ScoreCache(tmp_path).scores(method, "avg", windows, "middlebury", ("lr_mid",), progress=False)
    assert len(table) == 2 and table.psnr.notna().all()
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "score cache: no space left" in err[0] and str(tmp_path / "avg.csv") in err[0]
    assert list(tmp_path.iterdir()) == []


def test_atomic_writes_name_the_path_and_the_free_space(tmp_path, enospc_after):
    (tmp_path / "x.txt").write_text("before")
    enospc_after(0)
    with pytest.raises(DiskFullError) as info:
        atomic_write_text(tmp_path / "x.txt", "after")
    assert str(tmp_path / "x.txt") in str(info.value) and " free)" in str(info.value)
    assert (tmp_path / "x.txt").read_text() == "before" and sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]
    assert is_disk_full(RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed"))
    assert not is_disk_full(RuntimeError("something else")) and not is_disk_full(OSError(errno.EACCES, "no"))


def test_atomic_writes_on_a_full_tmpfs_raise_disk_full(tmp_path):
    with small_disk(tmp_path, "8k") as disk:
        fill(disk)
        with pytest.raises(DiskFullError, match=str(disk / "x.bin")):
            with atomic_path(disk / "x.bin") as tmp:
                tmp.write_bytes(b"x" * 100_000)
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]
