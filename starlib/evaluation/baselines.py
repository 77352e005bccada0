"""Non-learned baselines: bicubic upscaling, frame averaging and flow-based frame interpolation.

Each method maps a :class:`~starlib.data.FrameStack` (it reads only the input frames ``lr[0]``, ``lr[-1]``,
``hr[0]``, ``hr[-1]``) to uint8 outputs named like STARnet's: ``sr_t``, ``sr_mid``, ``sr_t1`` (HR),
``lr_mid`` (T-SR at LR) and ``hr_mid`` (T-SR with HR inputs, the STAR-T_HR task).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PIL import Image

from starlib.data.samples import FrameStack
from starlib.flow import warp
from starlib.util.imresize import imresize_matlab

FlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]   # (a, b) -> flow a->b in pixels, (H, W, 2)


def bicubic_upscale(lr: np.ndarray, scale: int, method: str = "pil") -> np.ndarray:
    """(h, w, 3) uint8 -> (scale*h, scale*w, 3) uint8 by bicubic interpolation."""
    h, w = lr.shape[:2]
    if method == "pil":
        return np.asarray(Image.fromarray(lr).resize((w * scale, h * scale), Image.Resampling.BICUBIC))
    if method == "matlab":
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


def occlusion_mask(flow_ab: np.ndarray, flow_ba: np.ndarray, alpha: float = 0.01, beta: float = 0.5) -> np.ndarray:
    """Pixels of frame a visible in frame b, by forward-backward consistency (Sundaram et al. 2010):
    visible where ``|F_ab + F_ba(x + F_ab)|^2 <= alpha (|F_ab|^2 + |F_ba(x + F_ab)|^2) + beta``.
    (H, W, 2) x 2 -> (H, W) float32 in {0, 1}."""
    back = warp(flow_ba, flow_ab)                        # F_ba sampled where each pixel of a lands in b
    err = ((flow_ab + back) ** 2).sum(-1)
    bound = alpha * ((flow_ab ** 2).sum(-1) + (back ** 2).sum(-1)) + beta
    return (err <= bound).astype(np.float32)


def flow_interpolate(a: np.ndarray, b: np.ndarray, flow_fn: FlowFn, t: float = 0.5) -> np.ndarray:
    """Classical frame interpolation at time ``t`` between uint8 frames ``a`` (t=0) and ``b`` (t=1).

    Bidirectional flows F_ab, F_ba give the flows from the new frame back to both inputs under a linear
    motion model (F_t0 = -(1-t) t F_ab + t^2 F_ba, F_t1 = (1-t)^2 F_ab - t (1-t) F_ba, as in Super SloMo's
    initial estimate); each input is backward-warped to t and the two are blended with weights (1-t) and t
    times their visibility, the occlusion masks of forward-backward consistency warped to t. Where neither
    input is visible the plain blend is used. (H, W, 3) uint8 x 2 -> (H, W, 3) uint8.
    """
    if a.shape != b.shape:
        raise ValueError(f"frames to interpolate must have the same shape, got {a.shape} and {b.shape}")
    f_ab = flow_fn(a, b).astype(np.float32)
    f_ba = flow_fn(b, a).astype(np.float32)
    f_t0 = -(1 - t) * t * f_ab + t * t * f_ba
    f_t1 = (1 - t) ** 2 * f_ab - t * (1 - t) * f_ba
    fa, fb = a.astype(np.float32), b.astype(np.float32)
    warped_a, warped_b = warp(fa, f_t0), warp(fb, f_t1)
    vis_a = warp(occlusion_mask(f_ab, f_ba), f_t0)      # (H, W): is the pixel's source in a visible in b
    vis_b = warp(occlusion_mask(f_ba, f_ab), f_t1)
    w_a, w_b = (1 - t) * vis_a, t * vis_b
    total = w_a + w_b
    plain = (1 - t) * warped_a + t * warped_b
    blended = (w_a[..., None] * warped_a + w_b[..., None] * warped_b) / np.maximum(total, 1e-6)[..., None]
    out = np.where(total[..., None] > 1e-3, blended, plain)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class FlowInterpolation:
    """Flow interpolation as an evaluation method: ``lr_mid`` from the LR inputs, ``hr_mid`` from the HR
    inputs (the T-SR tasks of Tables 9 and 10), with flows from ``flow_fn`` (a FlowCache)."""

    def __init__(self, flow_fn: FlowFn) -> None:
        self.flow_fn = flow_fn

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        return {"lr_mid": flow_interpolate(stack.lr[0], stack.lr[-1], self.flow_fn),
                "hr_mid": flow_interpolate(stack.hr[0], stack.hr[-1], self.flow_fn)}
