"""Where samples come from: the registered benchmarks (fetched into the data root, :mod:`starlib.data.fetch`), Vimeo90K, folders of frames and video files.

A *sample* is a :class:`Window`: consecutive frame paths of one clip. Test triplets keep the true middle
frame as ``frames[1]``; the model sees ``frames[0]`` and ``frames[-1]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fetch import require
from .images import list_images

VIMEO_URL = "http://toflow.csail.mit.edu/ (vimeo_triplet.zip, vimeo_septuplet.zip)"


@dataclass(frozen=True)
class Window:
    """Consecutive frames of one clip: ``frames[0]`` ... ``frames[-1]`` (paths), named ``name``."""

    name: str
    frames: tuple[Path, ...]

    def __post_init__(self) -> None:
        if len(self.frames) < 2:
            raise ValueError(f"sample {self.name!r} needs at least two frames, got {len(self.frames)}")


def _require_dir(path: Path, what: str, hint: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} not found at {path}. {hint}")
    return path


def _read_list(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"list file {path} does not exist")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _existing(paths: list[Path], sample: str) -> tuple[Path, ...]:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"sample {sample}: missing frame(s) {', '.join(missing)}")
    return tuple(paths)


def middlebury_other(root: str | os.PathLike | None = None) -> list[Window]:
    """The 12 Middlebury "other" sequences: frame10, ground-truth frame10i11, frame11 (list order of test.txt)."""
    root = _require_dir(Path(root) if root else require("middlebury"), "Middlebury 'other' data",
                        "Pass the folder holding other-data/ and other-gt-interp/.")
    names = _read_list(root / "other-data" / "test.txt")
    return [Window(n, _existing([root / "other-data" / n / "frame10.png",
                                 root / "other-gt-interp" / n / "frame10i11.png",
                                 root / "other-data" / n / "frame11.png"], f"middlebury/{n}"))
            for n in names]


def ucf101_dvf(root: str | os.PathLike | None = None) -> list[Window]:
    """UCF101 DVF test triplets: frame_00, frame_01_gt, frame_02 (ids of test.txt, its order)."""
    root = _require_dir(Path(root) if root else require("ucf101"), "UCF101 DVF triplets",
                        "Pass the folder holding <id>/frame_00.png ...")
    ids = _read_list(root / "test.txt")
    return [Window(i, _existing([root / i / "frame_00.png", root / i / "frame_01_gt.png",
                                 root / i / "frame_02.png"], f"ucf101/{i}")) for i in ids]


def davis_triplets(root: str | os.PathLike | None = None) -> list[Window]:
    """The 30 DAVIS triplets (training material; data set ``davis``): frame10, frame10i11, frame11."""
    root = _require_dir(Path(root) if root else require("davis"), "DAVIS triplets",
                        "Pass the folder holding input/<seq>/ and gt/<seq>/.")
    names = sorted(p.name for p in (root / "input").iterdir() if p.is_dir())
    return [Window(n, _existing([root / "input" / n / "frame10.png", root / "gt" / n / "frame10i11.png",
                                 root / "input" / n / "frame11.png"], f"davis/{n}")) for n in names]


def toflow_frames() -> Path:
    """The folder of the 12 TOFlow frames (data set ``toflow_clip``), fetched when missing."""
    return require("toflow_clip") / "frames"


def frame_folder(folder: str | os.PathLike, name: str | None = None) -> Window:
    """All images of a folder, in natural order of their names (``frame2`` before ``frame10``), as one clip."""
    frames = list_images(folder)
    if len(frames) < 2:
        raise ValueError(f"{folder} holds {len(frames)} image(s); a clip needs at least two frames")
    return Window(name or Path(folder).name, tuple(frames))


def sliding_windows(clip: Window, length: int, stride: int = 1) -> list[Window]:
    """Every run of ``length`` consecutive frames of ``clip`` (e.g. 3 for triplets, 7 for septuplets)."""
    if length < 2:
        raise ValueError(f"window length must be >= 2, got {length}")
    n = len(clip.frames)
    return [Window(f"{clip.name}/{i:04d}", clip.frames[i:i + length]) for i in range(0, n - length + 1, stride)]


def vimeo90k(root: str | os.PathLike, split: str = "test", kind: str = "triplet") -> list[Window]:
    """Vimeo90K triplets or septuplets from their list files.

    ``root`` is the folder holding ``tri_trainlist.txt`` / ``tri_testlist.txt`` and ``sequences/`` (for
    ``kind="septuplet"``: ``sep_*list.txt``). Vimeo90K is not embedded: download it from the TOFlow page.
    """
    if kind not in ("triplet", "septuplet") or split not in ("train", "test"):
        raise ValueError(f"kind must be 'triplet'|'septuplet' and split 'train'|'test', got {kind!r}, {split!r}")
    if not root:
        raise FileNotFoundError(f"no Vimeo90K path given; download Vimeo90K from {VIMEO_URL} and pass "
                                f"the folder that holds sequences/ and the list files")
    root = _require_dir(Path(root), f"Vimeo90K {kind} data",
                        f"Download it from {VIMEO_URL} and pass the folder that holds sequences/ and the list files.")
    prefix = "tri" if kind == "triplet" else "sep"
    n = 3 if kind == "triplet" else 7
    entries = _read_list(root / f"{prefix}_{split}list.txt")
    return [Window(e, tuple(root / "sequences" / e / f"im{k}.png" for k in range(1, n + 1))) for e in entries]


# --- video files -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VideoInfo:
    path: Path
    fps: float                     # the container's (average) frame rate
    size: tuple[int, int]          # (width, height)
    n_frames: int | None           # frames as stored (decoded, none duplicated or dropped); None if not counted
    #: (shortest, longest) interval between consecutive frames in seconds, on the stream's time grid; None
    #: when fewer than 3 frames were counted
    intervals: tuple[float, float] | None = None

    @property
    def variable_rate(self) -> bool:
        """Frames are not evenly spaced in time (a variable-frame-rate video: phones, screen recordings)."""
        return self.intervals is not None and self.intervals[1] > self.intervals[0] * 1.01


def _frame_timing(path: Path) -> tuple[int, tuple[float, float] | None]:
    """Count the decoded frames of the first video stream and the spread of their intervals, in one ffmpeg pass
    (``framecrc``: one line per frame, timestamps on the stream's frame-rate grid, no frame duplicated or dropped)."""
    import subprocess

    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error", "-i", str(path),
           "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framecrc", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    n, tb, pts = 0, None, []
    try:
        for raw in proc.stdout:
            line = raw.decode(errors="ignore").strip()
            if line.startswith("#tb 0:"):
                num, _, den = line.split(":", 1)[1].strip().partition("/")
                tb = int(num) / int(den or 1)
            elif line and not line.startswith("#"):
                n += 1
                pts.append(int(line.split(",")[2]))
    finally:
        proc.stdout.close()
        if proc.wait() != 0 and n == 0:
            raise RuntimeError(f"ffmpeg could not decode {path}")
    if n < 3 or tb is None:
        return n, None
    pts.sort()
    gaps = [b - a for a, b in zip(pts, pts[1:])]
    return n, (min(gaps) * tb, max(gaps) * tb)


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame rate, size, frame count and frame spacing of a video file (through imageio-ffmpeg's ffmpeg)."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video {path} does not exist")
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        reader.close()
    except Exception as exc:  # ffmpeg errors come as RuntimeError/OSError/StopIteration
        raise ValueError(f"cannot read video {path}: {exc}") from exc
    n, intervals = None, None
    try:
        n, intervals = _frame_timing(path)
    except Exception:
        pass
    return VideoInfo(path, float(meta.get("fps") or 0.0), tuple(meta["size"]), n, intervals)


def iter_video_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Stream a video's frames as (H, W, 3) uint8 RGB, one at a time (memory does not grow with length).

    The frames are those stored in the file (``-fps_mode passthrough``): none is duplicated or dropped to fit a
    constant rate, so a variable-frame-rate video gives its real frames (:attr:`VideoInfo.variable_rate` says so).
    """
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video {path} does not exist")
    try:
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24", output_params=["-fps_mode", "passthrough"])
        meta = next(reader)
    except Exception as exc:
        raise ValueError(f"cannot read video {path}: {exc}") from exc
    w, h = meta["size"]
    try:
        for buf in reader:
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
    finally:
        reader.close()
