"""Reading and writing frames, with one policy for odd inputs.

Every frame inside starlib is a NumPy ``uint8`` array of shape (H, W, 3), RGB order.

Policy for files that are not 8-bit RGB (errors name the file and the fix):

- grayscale (L, 1-bit) and palette (P) images are converted to RGB by replicating / looking up the colours;
- RGBA / LA images are accepted when every pixel is opaque (alpha dropped) and refused otherwise;
- 16-bit or floating-point images (I;16, I, F, 48-bit PNG) are refused: scores are defined on 8-bit frames,
  convert them explicitly first (for example ``convert in.png -depth 8 out.png``);
- missing, empty, truncated or non-image files raise :class:`ImageError`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from starlib.util.atomic import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp")


class ImageError(ValueError):
    """A frame that cannot be used as it is; the message names the file and what to do."""


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB, applying the module's policy."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist")
    try:
        with Image.open(path) as im:
            im.load()  # forces full decoding: truncated files fail here
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I", "F") or mode.startswith("I;16"):
                raise ImageError(f"{path} is a {mode} (16-bit or float) image; starlib scores 8-bit frames. "
                                 f"Convert it to 8-bit RGB first (e.g. `convert {path.name} -depth 8 out.png`)")
            if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                alpha = np.asarray(rgba)[..., 3]
                if (alpha != 255).any():
                    raise ImageError(f"{path} has transparent pixels (alpha channel); starlib needs opaque RGB. "
                                     f"Flatten it onto a background first")
                return np.ascontiguousarray(np.asarray(rgba)[..., :3])
            arr = np.asarray(im.convert("RGB"))
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"cannot decode {path}: {exc}. The file is truncated, corrupt or not an image; "
                         f"re-export or re-download it") from exc
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageError(f"{path} decoded to {arr.dtype} {arr.shape}, expected uint8 (H, W, 3)")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(f"{path} is empty ({arr.shape[1]}x{arr.shape[0]})")
    return np.ascontiguousarray(arr)


def read_frames(paths: list[str | os.PathLike]) -> list[np.ndarray]:
    """Read frames that belong to one sample; all must have the same size."""
    frames = [read_rgb(p) for p in paths]
    sizes = {f.shape for f in frames}
    if len(sizes) > 1:
        listing = ", ".join(f"{Path(p).name}: {f.shape[1]}x{f.shape[0]}" for p, f in zip(paths, frames))
        raise ImageError(f"frames of one sample differ in size ({listing}) in {Path(paths[0]).parent}; "
                         f"resize or crop them to one size")
    return frames


def write_png(path: str | os.PathLike, img: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 RGB array as PNG atomically (temporary file + rename)."""
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"write_png expects (H, W, 3) uint8, got {img.dtype} {img.shape}")
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(img, "RGB").save(tmp, format="PNG")
    return path


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files in ``folder``, sorted by name (hidden files ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist")
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file())
