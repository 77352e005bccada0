"""LR generation: modcrop and bicubic downscaling, and the tensor normalisation the networks expect.

The authors make LR frames with Pillow's antialiased bicubic (``Image.resize(..., BICUBIC)``) at train and
test time (spec 5.3); ``method="matlab"`` gives MATLAB ``imresize(..., 'bicubic')``, the convention of most
video SR work. Frames whose size is not divisible by the scale are modcropped: right and bottom rows and
columns are dropped (spec 5.2), as the authors do.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from starlib.util.imresize import imresize_matlab

LR_METHODS = ("pil", "matlab")
NORMALIZATIONS = ("imagenet", "unit")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop (H, W, C) to H - H % scale, W - W % scale (right/bottom)."""
    h, w = img.shape[:2]
    hh, ww = h - h % scale, w - w % scale
    if hh == 0 or ww == 0:
        raise ValueError(f"a {w}x{h} frame is smaller than the scale factor {scale}")
    return img[:hh, :ww]


def downscale(img: np.ndarray, scale: int, method: str = "pil") -> np.ndarray:
    """(H, W, 3) uint8 with H, W divisible by ``scale`` -> (H/s, W/s, 3) uint8."""
    if img.dtype != np.uint8 or img.ndim != 3:
        raise ValueError(f"downscale expects (H, W, 3) uint8, got {img.dtype} {img.shape}")
    h, w = img.shape[:2]
    if h % scale or w % scale:
        raise ValueError(f"{w}x{h} is not divisible by {scale}; modcrop the frame first")
    if method == "pil":
        return np.asarray(Image.fromarray(img).resize((w // scale, h // scale), Image.Resampling.BICUBIC))
    if method == "matlab":
        return imresize_matlab(img, 1.0 / scale)
    raise ValueError(f"unknown LR method {method!r}; choose one of {LR_METHODS}")


def make_lr(img: np.ndarray, scale: int, method: str = "pil") -> tuple[np.ndarray, np.ndarray]:
    """Modcrop an HR frame and downscale it; returns ``(hr_cropped, lr)``."""
    hr = modcrop(img, scale)
    return hr, downscale(hr, scale, method)


def to_tensor(img: np.ndarray, normalization: str = "imagenet") -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32, ImageNet-normalised (authors) or in [0, 1]."""
    t = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).float().div_(255.0)  # copy: PIL arrays are read-only
    if normalization == "imagenet":
        mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
        return (t - mean) / std
    if normalization == "unit":
        return t
    raise ValueError(f"unknown normalization {normalization!r}; choose one of {NORMALIZATIONS}")


def flow_to_tensor(flow: np.ndarray) -> torch.Tensor:
    """(H, W, 2) flow (pixels or normalised) -> (2, H, W) float32 tensor, contiguous, sharing no memory with a
    read-only array. The one HWC -> CHW conversion of flows in the project."""
    return torch.from_numpy(np.ascontiguousarray(flow, dtype=np.float32)).permute(2, 0, 1).contiguous()


def to_uint8(t: torch.Tensor, normalization: str = "imagenet") -> np.ndarray:
    """(3, H, W) or (B, 3, H, W) network output -> (H, W, 3) / (B, H, W, 3) uint8: de-normalise,
    clamp to [0, 1], x255, round to nearest (what the authors' PNG writing does)."""
    t = t.detach().float().cpu()
    shape = (1, 3, 1, 1) if t.ndim == 4 else (3, 1, 1)
    if normalization == "imagenet":
        t = t * torch.tensor(IMAGENET_STD).view(shape) + torch.tensor(IMAGENET_MEAN).view(shape)
    elif normalization != "unit":
        raise ValueError(f"unknown normalization {normalization!r}; choose one of {NORMALIZATIONS}")
    arr = t.clamp(0, 1).mul(255).round().to(torch.uint8)
    return arr.permute(0, 2, 3, 1).numpy() if t.ndim == 4 else arr.permute(1, 2, 0).numpy()
