"""Reading and writing frames, with one policy for odd inputs.

Every frame inside starlib is a NumPy ``uint8`` array of shape (H, W, 3), RGB order.

Policy for files that are not 8-bit RGB (errors name the file and the fix):

- grayscale (L, 1-bit) and palette (P) images are converted to RGB by replicating / looking up the colours;
- RGBA / LA images are accepted when every pixel is opaque (alpha dropped) and refused otherwise;
- 16-bit or floating-point images (I;16, I, F; 48-bit RGB and 64-bit RGBA PNG/TIFF, 16-bit PPM, which Pillow
  would silently reduce to their high byte) are refused: scores are defined on 8-bit frames, convert them
  explicitly first (for example ``convert in.png -depth 8 out.png``);
- images of more than :func:`max_pixels` pixels (:data:`MAX_PIXELS`, 8K UHD, unless ``$STARLIB_MAX_PIXELS``
  says otherwise) are refused from their header, before anything is decoded (a decompression-bomb PNG of a
  few KB can declare gigapixels);
- missing, empty, truncated or non-image files raise :class:`ImageError`.

Folders of frames are listed in *natural* order (:func:`natural_key`): the numbers in a name compare as numbers,
so ``frame2.png`` comes before ``frame10.png`` (ffmpeg's default ``%d`` names); zero-padded names keep their
order.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from starlib.util import env
from starlib.util.atomic import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp")
#: Largest frame read, in pixels: 8K UHD (7680 x 4320 = 33.2 MP, 100 MB as RGB). ``$STARLIB_MAX_PIXELS`` changes it
#: (Pillow's own decompression-bomb limit, twice ``PIL.Image.MAX_IMAGE_PIXELS`` = 179 MP, still applies).
MAX_PIXELS = 7680 * 4320
MAX_PIXELS_ENV = env.MAX_PIXELS
#: Pillow raw modes of more than 8 bits per channel (PNG ``RGB;16B``, TIFF ``RGB;16N`` ...); BMP's 16-bit
#: ``BGR;16`` is 5-6 bits per channel and is not matched.
_DEEP_RAWMODE = re.compile(r";(16|32)[BLN]|;32F|;64F")


class ImageError(ValueError):
    """A frame that cannot be used as it is; the message names the file and what to do."""


def max_pixels() -> int:
    """The largest frame :func:`read_rgb` reads, in pixels: ``$STARLIB_MAX_PIXELS`` if set, else :data:`MAX_PIXELS`."""
    return env.positive_bound(MAX_PIXELS_ENV, MAX_PIXELS, ImageError, "pixels")


def too_large(path: str | os.PathLike, width: int | None = None, height: int | None = None,
              what: str = "image") -> ImageError:
    """The error for a frame of more than :func:`max_pixels` pixels (``width=None``: Pillow refused the header)."""
    limit = max_pixels()
    name = Path(path).name
    fix = (f"Downscale or crop it first (e.g. `convert {name} -resize 50% smaller.png`), or raise the bound with "
           f"{MAX_PIXELS_ENV}=N if the memory is there")
    if width is None or height is None:
        return ImageError(f"{path}: the {what} declares more pixels than Pillow's decompression-bomb limit (2 x "
                          f"PIL.Image.MAX_IMAGE_PIXELS), far beyond the {limit:,} px starlib reads: it is a "
                          f"decompression bomb or far too large. Do not use this file, or downscale it first")
    return ImageError(f"{path}: {what} of {width}x{height} px ({width * height / 1e6:.1f} MP, "
                      f"{3 * width * height / 2**20:,.0f} MB decoded) is more than starlib reads ({limit:,} px = "
                      f"{limit / 1e6:.1f} MP; 8K UHD unless ${MAX_PIXELS_ENV} says otherwise). {fix}")


def _deep(im: Image.Image) -> bool:
    """More than 8 bits per channel under an 8-bit mode (Pillow keeps the high byte of 48-bit RGB PNGs)."""
    for tile in im.tile:
        args = tile[3] if len(tile) > 3 else None
        raw = args if isinstance(args, str) else (args[0] if isinstance(args, tuple) and args
                                                  and isinstance(args[0], str) else "")
        if _DEEP_RAWMODE.search(raw):
            return True
        if im.format == "PPM" and isinstance(args, tuple) and len(args) > 1 and isinstance(args[1], int) \
                and args[1] > 255:                                  # maxval of a 16-bit PPM
            return True
    return False


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB, applying the module's policy."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist")
    limit = max_pixels()
    try:
        with warnings.catch_warnings():     # Pillow warns above 89 MP; the bound below decides (and says why)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            w, h = im.size                  # from the header: nothing is decoded yet
            if w * h > limit:
                raise too_large(path, w, h)
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I", "F") or mode.startswith("I;16"):
                raise ImageError(f"{path} is a {mode} (16-bit or float) image; starlib scores 8-bit frames. "
                                 f"Convert it to 8-bit RGB first (e.g. `convert {path.name} -depth 8 out.png`)")
            if _deep(im):
                raise ImageError(f"{path} is a 16-bit-per-channel {mode} image ({16 * len(mode)}-bit); starlib "
                                 f"scores 8-bit frames and would keep only the high byte. Convert it to 8-bit RGB "
                                 f"first (e.g. `convert {path.name} -depth 8 out.png`)")
            im.load()  # forces full decoding: truncated files fail here
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
    except Image.DecompressionBombError as exc:      # Pillow refuses the header before we see its size
        raise too_large(path, None, None) from exc
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


_DIGITS = re.compile(r"(\d+)")


def pad_frame(frame: np.ndarray, multiple: int = 1, min_size: int = 1) -> np.ndarray:
    """(H, W, C) -> (H', W', C): edge-replicated at the right and bottom so that both sides are multiples of
    ``multiple`` and at least ``min_size`` (what a network accepts); the frame itself when it already fits."""
    h, w = frame.shape[:2]
    side = lambda n: max(min_size, -(-n // multiple) * multiple)  # noqa: E731
    hh, ww = side(h), side(w)
    if (hh, ww) == (h, w):
        return frame
    return np.pad(frame, ((0, hh - h), (0, ww - w), (0, 0)), mode="edge")


def natural_key(name: str | os.PathLike) -> tuple:
    """Sort key of a file name in natural order: runs of digits compare as numbers (``frame2`` < ``frame10``),
    the rest as text; names equal as numbers (``frame1``, ``frame01``) fall back to plain text order."""
    name = Path(name).name
    parts = _DIGITS.split(name)
    return tuple((0, int(p), "") if i % 2 else (1, 0, p) for i, p in enumerate(parts) if p), name


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files in ``folder`` in natural order of their names (:func:`natural_key`; hidden files ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist")
    return sorted((p for p in folder.iterdir()
                   if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()),
                  key=natural_key)
