"""Streaming clip input and output for ``python -m starlib enhance``.

Input: a video file (decoded frame by frame through imageio-ffmpeg), a folder of frames (sorted by name,
read one at a time) or a single image. Output: a video file, chosen by its extension (H.264 / libx264,
yuv420p), or a folder of PNG frames with a ``video.json`` that records the frame rate. Every frame is an
(H, W, 3) uint8 RGB array; nothing holds more than one frame at a time.

Policies (errors name the file and the fix, see :class:`MediaError`):

- a folder has no frame rate of its own: it is read from the folder's ``video.json`` (what a folder output
  of ``enhance`` writes), else taken from ``fps=``, else :data:`DEFAULT_FOLDER_FPS` (and the clip says so);
- frames of one folder must share one size;
- yuv420p needs even sizes: an odd-sized frame is cropped by one column/row at the right/bottom before
  encoding (the repository's modcrop convention) and a warning says so; folder outputs keep every pixel;
- outputs are written atomically: a video goes to a hidden temporary file beside the target and is renamed
  when complete; PNG frames and ``video.json`` are written through temporary files. An existing output is
  only replaced with ``overwrite=True``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from starlib.util.atomic import default_file_mode
from starlib.data.images import IMAGE_SUFFIXES, list_images, read_rgb, write_png
from starlib.data.sources import iter_video_frames, probe_video
from starlib.util.atomic import atomic_write_text

#: Output extensions written as video (libx264 / yuv420p).
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi")
DEFAULT_FOLDER_FPS = 25.0
META_NAME = "video.json"
FRAME_PATTERN = re.compile(r"^\d{6}\.png$")
FFMPEG_QUALITY = ["-crf", "16", "-preset", "medium"]   # near-transparent H.264


class MediaError(ValueError):
    """An input or output that cannot be used as it is; the message names the file and the fix."""


@dataclass
class Clip:
    """A clip opened for streaming. ``frames`` is a one-shot iterator of (H, W, 3) uint8 frames."""

    source: Path
    kind: str                      # "video" | "folder" | "image"
    fps: float
    fps_source: str                # where fps came from: "container", "video.json", "argument", "default"
    n_frames: int | None           # None when unknown (some containers)
    frames: Iterator[np.ndarray]


def _reason(exc: BaseException) -> str:
    """The last line of an (ffmpeg) error, without the banner and build configuration ffmpeg prints first."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]


def _folder_frames(paths: list[Path]) -> Iterator[np.ndarray]:
    first: tuple[int, ...] | None = None
    for path in paths:
        frame = read_rgb(path)
        if first is None:
            first = frame.shape
        elif frame.shape != first:
            raise MediaError(f"frame {path} is {frame.shape[1]}x{frame.shape[0]} but {paths[0].name} is "
                             f"{first[1]}x{first[0]}; all frames of a clip must have one size: resize or crop "
                             f"them to one size (or move the odd frame out of {path.parent})")
        yield frame


def _video_frames(path: Path) -> Iterator[np.ndarray]:
    try:
        yield from iter_video_frames(path)
    except (ValueError, RuntimeError, OSError) as exc:
        raise MediaError(f"cannot decode video {path}: {_reason(exc)}. Re-encode it (e.g. `ffmpeg -i {path.name} "
                         f"-c:v libx264 -pix_fmt yuv420p fixed.mp4`) or extract its frames into a folder") from exc


def open_input(path: str | os.PathLike, fps: float | None = None) -> Clip:
    """Open a video file, a folder of frames or one image for streaming (nothing is decoded yet)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input {path} does not exist; pass a video file (e.g. .mp4) or a folder of "
                                f"frames ({', '.join(IMAGE_SUFFIXES)})")
    if path.is_dir():
        frames = list_images(path)
        if not frames:
            raise MediaError(f"folder {path} holds no image files ({', '.join(IMAGE_SUFFIXES)}); put the frames "
                             f"there or pass a video file")
        rate, where = fps, "argument"
        meta = path / META_NAME
        if rate is None and meta.is_file():
            try:
                rate, where = float(json.loads(meta.read_text())["fps"]), META_NAME
            except (ValueError, KeyError, TypeError) as exc:
                raise MediaError(f"{meta} is not a valid frame-rate file ({exc}); fix or delete it, or pass "
                                 f"--fps") from exc
        if rate is None:
            rate, where = DEFAULT_FOLDER_FPS, "default"
        return Clip(path, "folder", float(rate), where, len(frames), _folder_frames(frames))
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return Clip(path, "image", float(fps or DEFAULT_FOLDER_FPS), "argument" if fps else "default", 1,
                    _folder_frames([path]))
    try:
        info = probe_video(path)
    except ValueError as exc:
        raise MediaError(f"cannot read {path} as a video ({_reason(exc)}). It is damaged or not a video: re-encode it "
                         f"(e.g. `ffmpeg -i {path.name} -c:v libx264 -pix_fmt yuv420p fixed.mp4`) or pass a "
                         f"folder of frames") from exc
    rate, where = (fps, "argument") if fps else (info.fps, "container")
    if not rate:
        raise MediaError(f"{path} does not state a frame rate; pass --fps")
    return Clip(path, "video", float(rate), where, info.n_frames, _video_frames(path))


def output_kind(path: str | os.PathLike) -> str:
    """``"video"`` for a known video extension, ``"folder"`` for a path without extension or an existing folder."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        return "folder"
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return "video"
    raise MediaError(f"output {path}: unknown extension {path.suffix!r}; write a video ({', '.join(VIDEO_SUFFIXES)}) "
                     f"or a folder of PNG frames (a path without extension)")


def even_crop(frame: np.ndarray) -> np.ndarray:
    """Drop the last column/row of an odd-sized (H, W, 3) frame (yuv420p needs even sizes)."""
    h, w = frame.shape[:2]
    return frame[: h - h % 2, : w - w % 2]


class FolderSink:
    """PNG frames ``000000.png``, ``000001.png`` ... and ``video.json`` (fps, frame count, ``meta``)."""

    def __init__(self, folder: Path, fps: float, overwrite: bool, meta: dict[str, Any]) -> None:
        self.folder, self.fps, self.meta, self.count = folder, fps, meta, 0
        old = [p for p in folder.iterdir() if FRAME_PATTERN.match(p.name) or p.name == META_NAME] \
            if folder.is_dir() else []
        if old and not overwrite:
            raise MediaError(f"output folder {folder} already holds {len(old)} frame/metadata file(s); choose "
                             f"another folder or pass --overwrite")
        for p in old:
            p.unlink()

    def write(self, frame: np.ndarray) -> None:
        if self.count == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
        write_png(self.folder / f"{self.count:06d}.png", frame)
        self.count += 1

    def finish(self) -> None:
        info = {"fps": self.fps, "n_frames": self.count, **self.meta}
        atomic_write_text(self.folder / META_NAME, json.dumps(info, indent=2) + "\n")

    def abort(self) -> None:
        """Frames written so far stay (each one is complete); no ``video.json`` marks the folder as unfinished."""


class VideoSink:
    """H.264 video written through a temporary file that is renamed over ``path`` when complete."""

    def __init__(self, path: Path, fps: float, overwrite: bool) -> None:
        if path.exists() and not overwrite:
            raise MediaError(f"output {path} exists; choose another name or pass --overwrite")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
        os.close(fd)
        self.path, self.tmp, self.fps, self.count = path, Path(tmp), fps, 0
        self.writer: Any = None
        self.size: tuple[int, int] | None = None      # (width, height) as encoded

    def _open(self, frame: np.ndarray) -> None:
        import imageio_ffmpeg

        h, w = frame.shape[:2]
        if h % 2 or w % 2:
            print(f"warning: {self.path}: frames of {w}x{h} px are cropped to {w - w % 2}x{h - h % 2} (H.264 "
                  f"yuv420p needs even sizes); write a folder output to keep every pixel", file=sys.stderr)
        self.size = (w - w % 2, h - h % 2)
        self.writer = imageio_ffmpeg.write_frames(str(self.tmp), self.size, fps=self.fps, codec="libx264",
                                                  pix_fmt_in="rgb24", pix_fmt_out="yuv420p", quality=None,
                                                  macro_block_size=1, output_params=list(FFMPEG_QUALITY))
        self.writer.send(None)

    def write(self, frame: np.ndarray) -> None:
        if self.writer is None:
            self._open(frame)
        frame = even_crop(frame)
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise MediaError(f"{self.path}: frame {self.count} is {frame.shape[1]}x{frame.shape[0]}, the video "
                             f"{self.size[0]}x{self.size[1]}; one video holds one frame size")
        self.writer.send(np.ascontiguousarray(frame))
        self.count += 1

    def finish(self) -> None:
        if self.writer is None:
            self.abort()
            raise MediaError(f"{self.path}: no frames to write")
        self.writer.close()
        os.chmod(self.tmp, default_file_mode())
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:  # ffmpeg may already be gone; the partial file is removed anyway
                pass
        self.tmp.unlink(missing_ok=True)


def open_output(path: str | os.PathLike, fps: float, overwrite: bool = False,
                meta: dict[str, Any] | None = None) -> FolderSink | VideoSink:
    """A sink for frames: ``write(frame)`` each, then ``finish()`` (or ``abort()`` on failure)."""
    path = Path(path)
    if output_kind(path) == "folder":
        return FolderSink(path, fps, overwrite, dict(meta or {}))
    return VideoSink(path, fps, overwrite)
