"""Clips for the ZSM protocol (space-time video SR as Zooming Slow-Mo, TMNet and RSTT score it): Vid4 folders,
Vimeo-90K septuplets with the Fast / Medium / Slow lists, any folder of frames; and how 7-frame windows are
cut from a clip.

A :class:`Clip` is the ground-truth (HR) frames of one clip in order, and optionally LR frames given with it.
:func:`load_clip` reads it: every HR frame modcropped to the scale (right/bottom), optionally centre-cropped,
and the LR frames either read (given, e.g. ``Vid4/BIx4``) or made from the HR frames by :func:`make_lr`
(the project's degradation: ``lr_method="pil"``, Pillow's antialiased bicubic, what STARnet trains with;
``"matlab"``, MATLAB ``imresize`` bicubic, how ZSM and TMNet made their LR frames).

Layouts read:

* **Vid4** (:func:`vid4_clips`): a folder holding ``GT/<clip>/`` (BasicSR's layout) or ``HR/<clip>/`` (ZSM's,
  TMNet's), or the folder of clip folders itself; frames in natural order of their names (``1.png`` before
  ``10.png``). Given LR frames: a folder of the same clip folders (``BIx4/<clip>/``, ZSM's ``LR/<clip>/``),
  one LR frame per HR frame.
* **Vimeo-90K septuplets** (:func:`vimeo_septuplets`): the folder holding ``sequences/<folder>/<clip>/im1.png``
  ... ``im7.png`` (the unpacked ``vimeo_septuplet``), and one of the lists ``fast`` / ``medium`` / ``slow``
  of the registered data set ``vimeo_lists`` (1,225 / 4,977 / 1,613 clips; ZSM's ``meta_info``).
* **the TOFlow clip** (:func:`toflow_clip`, data set ``toflow_clip``): 12 consecutive 1280x720 frames (also training data of
  the ``cpu`` profile).

Errors name the folder or file and the fix: a missing folder (:class:`FileNotFoundError`), a clip of fewer
than 7 frames, frames of different sizes in one clip, given LR frames that do not match (:class:`ClipError`).

**Windows** (:func:`zsm_windows`): ZSM's ``codes/test.py`` (``util.test_index_generation(skip=True, N_out=7)``)
cuts windows of 7 consecutive frames starting at frames 0, 6, 12, ...: neighbouring windows share one frame,
and a frame is scored once, from the first window that holds it (``gt_tested_list``). Only whole windows are
cut; ZSM's check meant to add a last window for the frames after them never fires (``right`` already exceeds
the clip's length when it is tested), so ZSM's script leaves those frames unscored. TMNet's
``utils/evaluation_single_frame.py`` (the script behind the table with the only third-party STARnet numbers)
adds a window ending at the last frame whenever the clip has more than 7 frames, and scores the frames no
earlier window scored: every frame is scored once. ``tail=True`` (the default) is TMNet's rule, ``tail=False``
ZSM's. A Vimeo septuplet is one window. In every window the inputs are its frames 1, 3, 5, 7 (positions 0, 2,
4, 6) and all seven are predicted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .degrade import LR_METHODS, make_lr, modcrop
from .fetch import require, require_under
from .images import list_images, read_rgb
from .sources import toflow_frames

#: Frames per window of the ZSM protocol (inputs: positions 0, 2, 4, 6).
WINDOW = 7
KEY_POSITIONS = (0, 2, 4, 6)
VIMEO_LISTS = ("fast", "medium", "slow")
VIMEO_SEPTUPLET_URL = "http://toflow.csail.mit.edu/ (vimeo_septuplet.zip, 82 GB)"
VID4_HINT = ("Vid4 (calendar, city, foliage, walk) is the registered data set vid4: `python -m starlib data fetch "
             "vid4` puts it in data/vid4; or pass a folder that holds GT/<clip>/ (or HR/<clip>/), or the folder of "
             "clip folders itself")


class ClipError(ValueError):
    """A clip the ZSM protocol cannot use as it is; the message names the folder or file and the fix."""


@dataclass(frozen=True)
class Clip:
    """One clip: HR (ground-truth) frame paths in order, and the given LR frames (same count) or None."""

    name: str
    frames: tuple[Path, ...]
    lr_frames: tuple[Path, ...] | None = None


def _header_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, ValueError) as exc:
        raise ClipError(f"cannot read {path}: {exc}. The file is truncated, corrupt or not an image; re-export "
                        f"or re-download it") from exc


def check_clip(clip: Clip, where: str | os.PathLike) -> Clip:
    """Raise :class:`ClipError` unless ``clip`` has at least 7 frames of one size (read from the file headers)
    and, when LR frames are given, as many LR frames of one size."""
    n = len(clip.frames)
    if n < WINDOW:
        raise ClipError(f"clip {clip.name!r} ({where}) holds {n} frame(s); the ZSM protocol scores windows of "
                        f"{WINDOW} consecutive frames, so a clip needs at least {WINDOW}. Add its frames or leave "
                        f"the clip out")
    for kind, paths in (("frames", clip.frames), ("LR frames", clip.lr_frames or ())):
        sizes: dict[tuple[int, int], list[Path]] = {}
        for p in paths:
            sizes.setdefault(_header_size(p), []).append(p)
        if len(sizes) > 1:
            listing = "; ".join(f"{w}x{h}: {', '.join(p.name for p in ps[:3])}{' ...' if len(ps) > 3 else ''}"
                                for (w, h), ps in sizes.items())
            raise ClipError(f"the {kind} of clip {clip.name!r} ({where}) differ in size ({listing}); one clip must "
                            f"have one frame size: crop or resize them to one size, or remove the odd frames")
    if clip.lr_frames is not None and len(clip.lr_frames) != n:
        raise ClipError(f"clip {clip.name!r}: {n} HR frames but {len(clip.lr_frames)} given LR frames "
                        f"({Path(clip.lr_frames[0]).parent if clip.lr_frames else where}); the protocol needs one LR "
                        f"frame per HR frame (frames 1, 3, 5, 7 of each window go in)")
    return clip


def folder_clip(folder: str | os.PathLike, name: str | None = None,
                lr_folder: str | os.PathLike | None = None) -> Clip:
    """The images of ``folder`` (natural order) as one clip, with the LR frames of ``lr_folder`` if given."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"clip folder {folder} does not exist; pass a folder of frames")
    lr = None
    if lr_folder is not None:
        lr_folder = Path(lr_folder)
        if not lr_folder.is_dir():
            raise FileNotFoundError(f"LR folder {lr_folder} of clip {name or folder.name!r} does not exist; give "
                                    f"LR frames for every clip, or none (LR frames are then made from the HR frames)")
        lr = tuple(list_images(lr_folder))
    return check_clip(Clip(name or folder.name, tuple(list_images(folder)), lr), folder)


def _resolve_lr_root(root: Path, lr_root: str | os.PathLike) -> Path:
    path = Path(lr_root).expanduser()
    if not path.is_dir() and not path.is_absolute() and (root / path).is_dir():
        path = root / path                      # a name under the Vid4 folder, e.g. "BIx4"
    if not path.is_dir():
        raise FileNotFoundError(f"Vid4 LR folder {lr_root} not found (nor {root / lr_root}); pass the folder holding "
                                f"<clip>/ folders of given LR frames (e.g. Vid4/BIx4), or none to make LR frames "
                                f"from the GT frames")
    return path


def vid4_clips(root: str | os.PathLike, lr_root: str | os.PathLike | None = None,
               names: tuple[str, ...] | None = None) -> list[Clip]:
    """The clips of a Vid4-style folder (see the module docstring), sorted by name; ``lr_root``: the folder
    (or the name of a folder under ``root``, e.g. ``"BIx4"``) of given LR frames; ``names``: only these clips."""
    if not root:
        raise FileNotFoundError(f"no Vid4 folder given. {VID4_HINT}")
    root = Path(root).expanduser()
    require_under(root)                         # the registered copy in the data root: fetched when missing
    if not root.is_dir():
        raise FileNotFoundError(f"Vid4 folder {root} does not exist. {VID4_HINT}")
    gt = next((root / sub for sub in ("GT", "HR") if (root / sub).is_dir()), root)
    folders = sorted(p for p in gt.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise FileNotFoundError(f"{gt} holds no clip folders. {VID4_HINT}")
    if names is not None:
        missing = sorted(set(names) - {p.name for p in folders})
        if missing:
            raise FileNotFoundError(f"clip(s) {missing} not found in {gt} (it holds {[p.name for p in folders]})")
        folders = [p for p in folders if p.name in names]
    lr = _resolve_lr_root(root, lr_root) if lr_root else None
    return [folder_clip(f, f.name, lr / f.name if lr is not None else None) for f in folders]


def septuplet_list(split: str, lists_dir: str | os.PathLike | None = None) -> list[str]:
    """Clip ids (``<folder>/<clip>``) of the Vimeo-90K septuplet test split ``fast`` / ``medium`` / ``slow``."""
    if split not in VIMEO_LISTS:
        raise ValueError(f"unknown Vimeo septuplet list {split!r}; choose one of {VIMEO_LISTS}")
    path = (Path(lists_dir) if lists_dir else require("vimeo_lists")) / f"{split}_testset.txt"
    if not path.is_file():
        raise FileNotFoundError(f"list file {path} does not exist; pass the folder holding {split}_testset.txt, or "
                                f"none for the registered lists (`python -m starlib data fetch vimeo_lists`)")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def vimeo_septuplets(root: str | os.PathLike, split: str, lists_dir: str | os.PathLike | None = None,
                     limit: int = 0) -> list[Clip]:
    """The septuplets of list ``split`` under ``root`` (the folder holding ``sequences/``), in list order;
    ``limit`` > 0 keeps the first ``limit``. A missing frame is an error naming it."""
    if not root:
        raise FileNotFoundError(f"no Vimeo-90K septuplet folder given; download it from {VIMEO_SEPTUPLET_URL} "
                                f"and pass the folder that holds sequences/")
    root = Path(root).expanduser()
    seq = root / "sequences"
    if not seq.is_dir():
        raise FileNotFoundError(f"{seq} does not exist; pass the folder that holds sequences/<folder>/<clip>/im1.png "
                                f"... (the unpacked vimeo_septuplet from {VIMEO_SEPTUPLET_URL})")
    ids = septuplet_list(split, lists_dir)
    if limit:
        ids = ids[:limit]
    clips = []
    for clip_id in ids:
        frames = tuple(seq / clip_id / f"im{k}.png" for k in range(1, WINDOW + 1))
        missing = [str(p) for p in frames if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"Vimeo septuplet {clip_id} ({split} list): missing {', '.join(missing)}; the "
                                    f"download is incomplete or {root} is not the vimeo_septuplet folder")
        clips.append(Clip(clip_id, frames))
    return clips


def toflow_clip(root: str | os.PathLike | None = None) -> Clip:
    """The 12-frame TOFlow clip (data set ``toflow_clip``, fetched when missing; ``root``: another data root)."""
    return folder_clip(Path(root) / "train" / "toflow_clip" / "frames" if root else toflow_frames(), "toflow")


# --- windows -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ZSMWindow:
    """Frames ``start`` .. ``start + 6`` of a clip; ``scored``: the positions (0-6) scored in this window
    (those no earlier window scored)."""

    start: int
    scored: tuple[int, ...]

    @property
    def inputs(self) -> tuple[int, ...]:
        """Clip indices of the four input frames."""
        return tuple(self.start + p for p in KEY_POSITIONS)


def zsm_windows(n_frames: int, tail: bool = True) -> list[ZSMWindow]:
    """Windows of a clip of ``n_frames`` frames under ZSM's rule (``tail=False``) or TMNet's (``tail=True``):
    see the module docstring. ``n_frames < 7`` is an error."""
    if n_frames < WINDOW:
        raise ClipError(f"a clip of {n_frames} frames has no window of {WINDOW} frames")
    starts = list(range(0, n_frames - WINDOW + 1, WINDOW - 1))
    if tail and starts[-1] + WINDOW < n_frames:
        starts.append(n_frames - WINDOW)     # TMNet: a last window ending at the last frame
    done: set[int] = set()
    windows = []
    for s in starts:
        new = tuple(p for p in range(WINDOW) if s + p not in done)
        done.update(s + p for p in new)
        windows.append(ZSMWindow(s, new))
    return windows


# --- reading ----------------------------------------------------------------------------------------------

def _centre_box(h: int, w: int, crop: tuple[int, int], scale: int) -> tuple[int, int, int, int]:
    ch, cw = (min(crop[0] or h, h), min(crop[1] or w, w))
    ch, cw = ch - ch % scale, cw - cw % scale
    y = ((h - ch) // 2) // scale * scale
    x = ((w - cw) // 2) // scale * scale
    return y, x, ch, cw


def load_clip(clip: Clip, scale: int = 4, lr_method: str = "pil", crop: tuple[int, int] = (0, 0),
              indices: list[int] | None = None) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """``(hr, lr)``: frame index -> uint8 frame for ``indices`` (default: all). HR frames are modcropped to
    ``scale`` and, with ``crop = (h, w)`` (0 = whole), centre-cropped on the scale's grid; LR frames are the given
    ones (cropped at the matching box) or made by :func:`make_lr` with ``lr_method``."""
    if lr_method not in LR_METHODS:
        raise ValueError(f"unknown LR method {lr_method!r}; choose one of {LR_METHODS}")
    indices = list(range(len(clip.frames))) if indices is None else indices
    hr, lr = {}, {}
    for i in indices:
        full = modcrop(read_rgb(clip.frames[i]), scale)
        fh, fw = full.shape[:2]
        y, x, ch, cw = _centre_box(fh, fw, crop, scale)
        frame = np.ascontiguousarray(full[y:y + ch, x:x + cw])
        if clip.lr_frames is None:
            hr[i], lr[i] = make_lr(frame, scale, lr_method)
            continue
        given = read_rgb(clip.lr_frames[i])
        if given.shape[:2] != (fh // scale, fw // scale):
            gh, gw = given.shape[:2]
            raise ClipError(f"LR frame {clip.lr_frames[i]} is {gw}x{gh}, but its HR frame {clip.frames[i]} "
                            f"(modcropped to {fw}x{fh}) needs {fw // scale}x{fh // scale} at scale {scale}; give LR "
                            f"frames made from these HR frames at this scale, or none")
        box = given[y // scale:(y + ch) // scale, x // scale:(x + cw) // scale]
        hr[i], lr[i] = frame, np.ascontiguousarray(box)
    return hr, lr


__all__ = ["Clip", "ClipError", "KEY_POSITIONS", "VIMEO_LISTS", "WINDOW", "ZSMWindow", "check_clip",
           "folder_clip", "load_clip", "septuplet_list", "toflow_clip", "vid4_clips", "vimeo_septuplets",
           "zsm_windows"]
