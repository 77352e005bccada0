"""Non-learned baselines: bicubic upscaling and frame averaging.

Each method maps a :class:`~starlib.data.FrameStack` (it reads only the input frames ``lr[0]``, ``lr[-1]``,
``hr[0]``, ``hr[-1]``) to uint8 outputs named like STARnet's: ``sr_t``, ``sr_mid``, ``sr_t1`` (HR),
``lr_mid`` (T-SR at LR) and ``hr_mid`` (T-SR with HR inputs, the STAR-T_HR task).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from starlib.data.samples import FrameStack


def bicubic_upscale(lr: np.ndarray, scale: int, method: str = "pil") -> np.ndarray:
    """(h, w, 3) uint8 -> (scale*h, scale*w, 3) uint8 by bicubic interpolation."""
    h, w = lr.shape[:2]
    if method == "pil":
        return np.asarray(Image.fromarray(lr).resize((w * scale, h * scale), Image.Resampling.BICUBIC))
    if method == "matlab":
        from starlib.imresize import imresize_matlab

        return imresize_matlab(lr, float(scale))
    raise ValueError(f"unknown upscaling method {method!r}; choose 'pil' or 'matlab'")


def frame_average(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixel-wise mean of two uint8 frames, rounded half up."""
    return ((a.astype(np.uint16) + b.astype(np.uint16) + 1) // 2).astype(np.uint8)


def bicubic_and_average(stack: FrameStack, scale: int = 4, method: str = "pil") -> dict[str, np.ndarray]:
    """S-SR by bicubic upscaling of each input; T-SR by averaging the two inputs; ST-SR by bicubic
    upscaling of the averaged LR inputs."""
    lr_mid = frame_average(stack.lr[0], stack.lr[-1])
    return {
        "sr_t": bicubic_upscale(stack.lr[0], scale, method),
        "sr_t1": bicubic_upscale(stack.lr[-1], scale, method),
        "sr_mid": bicubic_upscale(lr_mid, scale, method),
        "lr_mid": lr_mid,
        "hr_mid": frame_average(stack.hr[0], stack.hr[-1]),
    }
