"""Streaming clip input and output for ``python -m starlib enhance``.

Input: a video file (decoded frame by frame through imageio-ffmpeg, the frames as stored: none duplicated or
dropped), a folder of frames (in natural order of their names: ``frame2.png`` before ``frame10.png``; read one at
a time) or a single image. Output: a video file, chosen by its extension (H.264 / libx264,
yuv420p), or a folder of PNG frames with a ``video.json`` that records the frame rate. Every frame is an
(H, W, 3) uint8 RGB array; nothing holds more than one frame at a time.

Policies (errors name the file and the fix, see :class:`MediaError`):

- a folder has no frame rate of its own: it is read from the folder's ``video.json`` (what a folder output
  of ``enhance`` writes), else taken from ``fps=``, else :data:`DEFAULT_FOLDER_FPS` (and the clip says so);
  a frame rate must be a finite number above 0;
- a variable-frame-rate video is read frame by frame as stored, and a warning says that its output gets the
  constant average rate (timing within the clip is evened out);
- frames of one folder must share one size;
- yuv420p needs even sizes: an odd-sized frame is cropped by one column/row at the right/bottom before
  encoding (the repository's modcrop convention) and a warning says so; folder outputs keep every pixel;
- outputs are written beside the target and swapped in when complete: a video to a hidden
  ``.NAME.XXXX.partial.mp4`` renamed over the target, a folder to a hidden ``.NAME.XXXX.partial`` folder that
  replaces the target folder (the old one is removed only after the swap). A failed, interrupted
  (Ctrl-C) or terminated (SIGTERM, SIGHUP, while :func:`cleanup_on_signals` is active) run removes its
  temporary output and leaves an earlier output as it was; only SIGKILL can leave a ``.partial`` behind. An
  existing output is only replaced with ``overwrite=True``. A video is swapped in only when ffmpeg exited 0 and
  the file's index holds every frame sent (a full disk fails the run with one line; see :class:`VideoSink`); a folder is only replaced when it holds nothing
  but what ``enhance`` writes (``NNNNNN.png`` frames and ``video.json``);
- the output is checked before anything is computed (:func:`check_output`): it may not be the input, lie
  inside an input folder or contain the input; its parent may not be a file; an extension-less output (a
  folder) may not be an existing file.
"""

from __future__ import annotations

import collections
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from starlib.data.images import IMAGE_SUFFIXES, list_images, max_pixels, read_rgb, too_large, write_png
from starlib.data.sources import iter_video_frames, probe_video
from starlib.util.atomic import DiskFullError, atomic_write_text, default_file_mode, free_space

#: Output extensions written as video (libx264 / yuv420p).
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi")
DEFAULT_FOLDER_FPS = 25.0
META_NAME = "video.json"
FRAME_PATTERN = re.compile(r"^\d{6}\.png$")
FFMPEG_QUALITY = ["-crf", "16", "-preset", "medium"]   # near-transparent H.264
PARTIAL = ".partial"                                   # in the names of outputs being written
#: Files an operating system drops into folders; an output folder holding them may still be replaced.
OS_LITTER = (".DS_Store", "Thumbs.db", "desktop.ini")


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
    names: list[str] | None = None  # file names of the frames (folder / image inputs)


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


def check_fps(fps: float | None, what: str = "--fps") -> float | None:
    """``fps`` if it is a usable frame rate (a finite number above 0) or None, else :class:`MediaError`."""
    if fps is None:
        return None
    try:
        value = float(fps)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise MediaError(f"{what} {fps!r} is not a frame rate; give a number of frames per second above 0 "
                         f"(e.g. --fps 25 or --fps 29.97)")
    return value


def open_input(path: str | os.PathLike, fps: float | None = None) -> Clip:
    """Open a video file, a folder of frames or one image for streaming (nothing is decoded yet)."""
    path = Path(path)
    fps = check_fps(fps)
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
            check_fps(rate, f"{meta}: its fps")
        if rate is None:
            rate, where = DEFAULT_FOLDER_FPS, "default"
        return Clip(path, "folder", float(rate), where, len(frames), _folder_frames(frames),
                    [p.name for p in frames])
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return Clip(path, "image", float(fps or DEFAULT_FOLDER_FPS), "argument" if fps else "default", 1,
                    _folder_frames([path]), [path.name])
    try:
        info = probe_video(path)
    except ValueError as exc:
        raise MediaError(f"cannot read {path} as a video ({_reason(exc)}). It is damaged or not a video: re-encode it "
                         f"(e.g. `ffmpeg -i {path.name} -c:v libx264 -pix_fmt yuv420p fixed.mp4`) or pass a "
                         f"folder of frames") from exc
    w, h = info.size
    if w * h > max_pixels():
        raise too_large(path, w, h, "video frames")
    rate, where = (fps, "argument") if fps else (info.fps, "container")
    if not rate or not math.isfinite(rate) or rate <= 0:
        raise MediaError(f"{path} does not state a frame rate; pass --fps")
    if info.variable_rate:
        lo, hi = info.intervals
        where = "argument" if fps else "container (average of a variable frame rate)"
        print(f"warning: {path} has a variable frame rate (frames {lo * 1000:.0f} to {hi * 1000:.0f} ms apart); "
              f"its {info.n_frames} frames are read as stored (none duplicated or dropped) and taken as evenly "
              f"spaced at {rate:g} fps ({'--fps' if fps else 'the average rate'}), so the output's timing within "
              f"the clip is evened out. For exact timing convert it to a constant rate first (`ffmpeg -i "
              f"{path.name} -fps_mode cfr -r {rate:g} cfr.mp4`)", file=sys.stderr)
    return Clip(path, "video", float(rate), where, info.n_frames, _video_frames(path))


# --- outputs ---------------------------------------------------------------------------------------------

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


def _inside(path: Path, folder: Path) -> bool:
    return folder in path.parents


def _folder_contents(folder: Path, overwrite: bool) -> None:
    """An existing output folder may be replaced: it holds only what enhance writes, and ``overwrite`` for that."""
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise MediaError(f"cannot list the output folder {folder} ({exc.strerror or exc}); choose a folder you can "
                         f"read and write") from exc
    ours = [p for p in entries if FRAME_PATTERN.match(p.name) or p.name == META_NAME]
    foreign = sorted(p.name for p in entries if p not in ours and p.name not in OS_LITTER)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise MediaError(f"output folder {folder} holds {len(foreign)} file(s) or folder(s) that enhance does not "
                         f"write ({shown}); a folder output is replaced as a whole when complete, so choose a new "
                         f"or empty folder, or move them out")
    if ours and not overwrite:
        raise MediaError(f"output folder {folder} already holds {len(ours)} frame/metadata file(s); choose another "
                         f"folder or pass --overwrite (the old frames are replaced only once the new ones are "
                         f"complete)")


def check_output(path: str | os.PathLike, overwrite: bool = False, source: str | os.PathLike | None = None) -> str:
    """Check that ``path`` can take an output, before anything is computed; returns its kind (:func:`output_kind`).

    Refused (:class:`MediaError`, naming the path and the fix): an unknown extension; the input itself
    (``source``), a path inside the input folder or a folder that contains the input; a path under a regular
    file; an existing file where a folder is meant (no extension); an existing output without ``overwrite``; a
    folder holding files enhance does not write.
    """
    path = Path(path)
    kind = output_kind(path)
    full = Path(os.path.abspath(path))                      # "." and "out/.." named by what they are
    for parent in full.parents:                             # the nearest existing folder above the output
        if parent.exists():
            if not parent.is_dir():
                raise MediaError(f"output {path}: {parent} is a file, not a folder, so nothing can be written "
                                 f"under it; choose an output path outside it")
            break
    if source is not None:
        src, out = Path(source).resolve(), path.resolve()
        other = full.with_name(f"{full.stem}_enhanced{full.suffix}")
        if out == src:
            raise MediaError(f"output {path} is the input {source}: enhance would replace what it reads; write "
                             f"to another {'folder' if kind == 'folder' else 'file'} (e.g. -o {other})")
        if src.is_dir() and _inside(out, src):
            raise MediaError(f"output {path} lies inside the input folder {source}: its files would mix with the "
                             f"input's frames on the next run; write outside it (e.g. -o "
                             f"{src.with_name(src.name + '_enhanced')})")
        if _inside(src, out):
            raise MediaError(f"output {path} contains the input {source}: replacing it would delete the input; "
                             f"write to another folder (e.g. -o {other})")
    if path.exists():
        if kind == "folder":
            if not path.is_dir():
                raise MediaError(f"output {path} exists and is a file, not a folder: a path without a video "
                                 f"extension ({', '.join(VIDEO_SUFFIXES)}) is written as a folder of PNG frames; "
                                 f"choose another name, or give a video extension")
            _folder_contents(path, overwrite)
        elif not overwrite:
            raise MediaError(f"output {path} exists; choose another name or pass --overwrite")
    return kind


# --- signals: a terminated run cleans up -------------------------------------------------------------------

class Terminated(SystemExit):
    """SIGTERM or SIGHUP while :func:`cleanup_on_signals` is active: raised in the main thread so that ``finally``
    and ``except`` blocks remove temporary outputs; as a :class:`SystemExit` it ends the process with status
    128 + the signal's number and no traceback."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"terminated by {signal.Signals(self.signum).name}"


_critical_depth = 0
_pending_signal: int | None = None


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _on_signal(signum: int, frame: object) -> None:
    global _pending_signal
    if _critical_depth:
        _pending_signal = signum            # raised when the critical block is done
        return
    _raise_for(signum)


@contextmanager
def _critical() -> Iterator[None]:
    """Signals handled by :func:`cleanup_on_signals` wait until the block is done (an output swap is never cut
    in half)."""
    global _critical_depth, _pending_signal
    _critical_depth += 1
    try:
        yield
    finally:
        _critical_depth -= 1
        if not _critical_depth and _pending_signal is not None:
            signum, _pending_signal = _pending_signal, None
            _raise_for(signum)


@contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """While active, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread (instead of killing the
    process outright) and SIGINT raises KeyboardInterrupt, so the sinks' ``abort`` removes temporary outputs.
    Only signals at their default disposition are taken over (a handler someone installed, or SIG_IGN under
    nohup, is left alone), only from the main thread, and the previous handlers come back at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    taken = {}
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        current = signal.getsignal(sig)
        if current is signal.SIG_DFL or (sig == signal.SIGINT and current is signal.default_int_handler):
            taken[sig] = current
            signal.signal(sig, _on_signal)
    try:
        yield
    finally:
        for sig, handler in taken.items():
            signal.signal(sig, handler)


# --- sinks -------------------------------------------------------------------------------------------------

def _make_parents(target: Path) -> list[Path]:
    """Create the missing folders above ``target``; returns them, deepest first (to remove on abort)."""
    missing = [p for p in target.absolute().parents if not p.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(f"cannot create the folder {target.parent} for the output ({exc.strerror or exc}); "
                         f"choose a place you can write to") from exc
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:                  # deepest first; stops mattering at the first non-empty one
        try:
            folder.rmdir()
        except OSError:
            return


def _partial_name(target: Path, suffix: str = "") -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{PARTIAL}{suffix}")


class FolderSink:
    """PNG frames ``000000.png``, ``000001.png`` ... and ``video.json`` (fps, frame count, ``meta``).

    Written into a hidden ``.NAME.XXXX.partial`` folder beside ``folder``; :meth:`finish` swaps it in (an old
    output folder is renamed aside first and removed after the swap), :meth:`abort` removes it, so an earlier
    output survives a failed run and a finished folder always has all its frames and its ``video.json``.
    """

    def __init__(self, folder: Path, fps: float, overwrite: bool, meta: dict[str, Any]) -> None:
        self.folder, self.fps, self.meta, self.overwrite, self.count = folder, fps, meta, overwrite, 0
        if folder.is_dir():
            _folder_contents(folder, overwrite)
        self.created = _make_parents(folder)
        self.done, self.old = False, None
        while True:
            self.tmp = _partial_name(folder)
            try:
                os.mkdir(self.tmp)
                break
            except FileExistsError:         # another run's partial folder of the same random name
                continue
            except OSError as exc:
                _remove_empty(self.created)
                raise MediaError(f"cannot write the output folder {folder}: {exc.strerror or exc} in "
                                 f"{folder.parent}; choose a folder you can write to") from exc

    def write(self, frame: np.ndarray) -> None:
        with self._disk_full_names_output():
            write_png(self.tmp / f"{self.count:06d}.png", frame)
        self.count += 1

    @contextmanager
    def _disk_full_names_output(self) -> Iterator[None]:
        """A full disk names the output folder, not the hidden partial one (which :meth:`abort` removes)."""
        try:
            yield
        except DiskFullError as exc:
            raise DiskFullError(self.folder, "nothing was replaced (an earlier output there is unchanged)") from exc

    def finish(self) -> None:
        if self.count == 0:
            raise MediaError(f"{self.folder}: no frames to write")
        info = {"fps": self.fps, "n_frames": self.count, **self.meta}
        with self._disk_full_names_output():
            atomic_write_text(self.tmp / META_NAME, json.dumps(info, indent=2) + "\n")
        with _critical():
            if os.path.lexists(self.folder):
                if not self.folder.is_dir():
                    raise MediaError(f"output {self.folder} became a file while enhance ran; move it away and "
                                     f"run again")
                _folder_contents(self.folder, self.overwrite)       # again: it may have changed meanwhile
                self.old = _partial_name(self.folder, ".old")       # (a symlink is replaced, not followed)
                os.rename(self.folder, self.old)
            try:
                os.rename(self.tmp, self.folder)
            except BaseException:
                if self.old is not None:
                    os.rename(self.old, self.folder)
                    self.old = None
                raise
            self.done = True
        self._drop_old()

    def _drop_old(self) -> None:
        if self.old is not None:
            if self.old.is_symlink() or not self.old.is_dir():
                self.old.unlink(missing_ok=True)
            else:
                shutil.rmtree(self.old, ignore_errors=True)
            self.old = None

    def abort(self) -> None:
        """Remove the partial folder (or, after the swap, what is left of the old output); an earlier output
        that was not swapped out stays as it was."""
        with _critical():                   # a second signal does not cut the clean-up short
            if self.done:
                self._drop_old()
                return
            shutil.rmtree(self.tmp, ignore_errors=True)
            _remove_empty(self.created)


class VideoSink:
    """H.264 video written through a hidden ``.NAME.XXXX.partial.EXT`` file beside ``path``, renamed over
    ``path`` when complete (:meth:`abort` removes it).

    ffmpeg runs as our own process (imageio-ffmpeg's binary) so that its exit status and error lines are seen:
    the partial file is swapped in only when ffmpeg exited 0 and the written file's index holds every frame
    sent (:func:`count_packets`). Anything else (a full disk: "Error writing trailer: No space left on device")
    is a :class:`MediaError` naming the output and ffmpeg's reason; the caller's :meth:`abort` then removes the
    partial file and an earlier output stays as it was.
    """

    def __init__(self, path: Path, fps: float, overwrite: bool) -> None:
        if path.exists() and not overwrite:
            raise MediaError(f"output {path} exists; choose another name or pass --overwrite")
        self.created = _make_parents(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f"{PARTIAL}{path.suffix}", dir=path.parent)
        except OSError as exc:
            _remove_empty(self.created)
            raise MediaError(f"cannot write the output {path}: {exc.strerror or exc} in {path.parent}; choose a "
                             f"folder you can write to") from exc
        os.close(fd)
        self.path, self.tmp, self.fps, self.count, self.done = path, Path(tmp), fps, 0, False
        self.proc: subprocess.Popen | None = None
        self.errors: collections.deque[str] = collections.deque(maxlen=40)   # ffmpeg's last stderr lines
        self.reader: threading.Thread | None = None
        self.size: tuple[int, int] | None = None      # (width, height) as encoded

    def _command(self) -> list[str]:
        import imageio_ffmpeg

        rate = Fraction(self.fps).limit_denominator(100000)
        return [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-nostats", "-loglevel", "error",
                "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{self.size[0]}x{self.size[1]}",
                "-pix_fmt", "rgb24", "-r", str(rate), "-i", "-", "-an",
                "-vcodec", "libx264", "-pix_fmt", "yuv420p", *FFMPEG_QUALITY, str(self.tmp)]

    def _open(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        if h % 2 or w % 2:
            print(f"warning: {self.path}: frames of {w}x{h} px are cropped to {w - w % 2}x{h - h % 2} (H.264 "
                  f"yuv420p needs even sizes); write a folder output to keep every pixel", file=sys.stderr)
        self.size = (w - w % 2, h - h % 2)
        self.proc = subprocess.Popen(self._command(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._keep_errors, args=(self.proc.stderr,), daemon=True)
        self.reader.start()

    def _keep_errors(self, stream: Any) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").strip()
            if line:
                self.errors.append(line)
        stream.close()

    def _failure(self, what: str) -> MediaError:
        full_lines = [line for line in self.errors if "No space left" in line or "Disk quota" in line]
        said = [re.sub(r"^\[[^]]*\]\s*", "", line) for line in (full_lines or list(self.errors)[-1:])]
        reason = said[0] if full_lines else f"{what} ({said[0]})" if said else what    # without "[out#0 @ 0x..]"
        fix = (f"free some space ({free_space(self.path.parent)} free in {self.path.parent}) or write elsewhere, "
               f"and run again" if full_lines else "or write a folder output (a path without extension)")
        return MediaError(f"could not write the video {self.path}: {reason[:300]}; nothing was replaced (an "
                          f"earlier file there is unchanged): {fix}")

    def write(self, frame: np.ndarray) -> None:
        if self.proc is None:
            self._open(frame)
        frame = even_crop(frame)
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise MediaError(f"{self.path}: frame {self.count} is {frame.shape[1]}x{frame.shape[0]}, the video "
                             f"{self.size[0]}x{self.size[1]}; one video holds one frame size")
        try:
            self.proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        except (BrokenPipeError, OSError) as exc:     # ffmpeg stopped (a full disk, a killed process)
            self._stop()
            raise self._failure(f"ffmpeg stopped ({exc.strerror or exc})") from exc
        self.count += 1

    def _stop(self) -> int | None:
        """Close ffmpeg's input and wait for it; its exit status (None when there was no process)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            status = proc.wait(timeout=600)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            if self.reader is not None:
                self.reader.join(timeout=10)
        return status

    def finish(self) -> None:
        if self.proc is None:
            raise MediaError(f"{self.path}: no frames to write")
        status = self._stop()
        if status != 0:
            raise self._failure(f"ffmpeg exited with status {status}")
        written = count_packets(self.tmp)
        if written != self.count:
            raise self._failure(f"the written file holds {written} of the {self.count} frames sent")
        with _critical():
            os.chmod(self.tmp, default_file_mode())
            os.replace(self.tmp, self.path)
            self.done = True

    def abort(self) -> None:
        """Stop ffmpeg and remove the partial file; an earlier output at ``path`` stays as it was."""
        if self.done:
            return
        try:
            self._stop()
        except BaseException:  # ffmpeg may already be gone; the partial file is removed anyway
            pass
        with _critical():
            self.tmp.unlink(missing_ok=True)
            _remove_empty(self.created)


def count_packets(path: Path) -> int:
    """The video frames a file's index holds (its packets, read without decoding); 0 for a file ffmpeg cannot
    open (an mp4 whose trailer was never written has no index)."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error", "-i", str(path),
           "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                          check=False)
    if proc.returncode != 0:
        return 0
    return sum(1 for line in proc.stdout.decode(errors="ignore").splitlines() if line and not line.startswith("#"))


def open_output(path: str | os.PathLike, fps: float, overwrite: bool = False, meta: dict[str, Any] | None = None,
                source: str | os.PathLike | None = None) -> FolderSink | VideoSink:
    """A sink for frames: ``write(frame)`` each, then ``finish()`` (or ``abort()`` on failure). The output is
    checked first (:func:`check_output`, against the input ``source`` when given)."""
    path = Path(os.path.abspath(path))      # "." and "out/." have no name to put a partial beside
    check_fps(fps, "output frame rate")
    if check_output(path, overwrite, source) == "folder":
        return FolderSink(path, fps, overwrite, dict(meta or {}))
    return VideoSink(path, fps, overwrite)
