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

from starlib.__main__ import main
from starlib.infer import videoio
from starlib.util.atomic import DiskFullError, atomic_path, atomic_write_text, is_disk_full

from test_enhance import real_frames, write_folder, write_mp4


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


def run_cli(capsys, *args) -> tuple[int, str]:
    rc = main(["enhance", *map(str, args), "--quiet", "--device", "cpu"])
    return rc, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


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
