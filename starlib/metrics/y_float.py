"""Y-channel PSNR and SSIM the way space-time video SR papers compute them (ZSM, TMNet, BasicSR).

The ZSM protocol (Zooming Slow-Mo, TMNet, RSTT: Vid4 and Vimeo-Fast/Medium/Slow) scores the BT.601 luma of
uint8 RGB frames **without rounding it**:

    Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255,    R, G, B in 0..255,  Y in [16, 235] (float)

(ZSM/TMNet ``data.util.bgr2ycbcr(img / 255, only_y=True) * 255``; BasicSR ``metric_util.to_y_channel``).
:func:`starlib.metrics.psnr_y` / :func:`starlib.metrics.ssim_y` round Y to uint8 first, as MATLAB
``rgb2ycbcr`` does on uint8 input; the two conventions differ by at most 0.5 per pixel, and those functions are
unchanged. Here:

* :func:`rgb_to_y_float`: the unrounded Y above, float64 (BasicSR and ZSM carry it in float32; the relative
  difference is below 1e-7, about 1e-5 dB of PSNR at most on the test images of ``tests/test_zsm.py``).
* :func:`psnr_y_float`: ``10 log10(255^2 / MSE)`` on Y, no border crop, ``inf`` for identical frames
  (BasicSR ``calculate_psnr(img, img2, crop_border=0, test_y_channel=True)``).
* :func:`ssim_y_float`: Wang et al.'s SSIM on Y: 11x11 Gaussian window (sigma 1.5), 'valid' filtering,
  C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, the mean of the map (BasicSR ``calculate_ssim(...,
  crop_border=0, test_y_channel=True)``, i.e. its ``_ssim`` on one channel; TMNet's ``util.calculate_ssim``).

Inputs follow the package's contract: uint8 HxWx3 **RGB** (BasicSR takes BGR: pass ``img[..., ::-1]`` there),
ground truth first. Tested against BasicSR 1.4.2 values in ``tests/test_zsm.py``.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_image, check_pair
from .ssim import _RADIUS, ssim_map

_PEAK = 255.0
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)


def rgb_to_y_float(img: np.ndarray) -> np.ndarray:
    """Unrounded BT.601 luma of a uint8 HxWx3 RGB image: HxW float64 in [16, 235]."""
    check_image(img, name="img", rgb=True)
    return img.astype(np.float64) @ _Y_WEIGHTS / 255.0 + 16.0


def psnr_y_float(gt: np.ndarray, pred: np.ndarray) -> float:
    """PSNR on the unrounded Y of two uint8 HxWx3 RGB images (peak 255, no crop); ``inf`` if equal."""
    check_pair(gt, pred, rgb=True)
    diff = rgb_to_y_float(pred) - rgb_to_y_float(gt)
    mse = float(np.mean(diff * diff))
    return math.inf if mse == 0.0 else 10.0 * math.log10(_PEAK**2 / mse)


def ssim_y_float(gt: np.ndarray, pred: np.ndarray) -> float:
    """Wang et al. SSIM ('valid' 11x11 Gaussian window, sigma 1.5) on the unrounded Y of two uint8 HxWx3 RGB
    images. Images must be at least 11x11."""
    check_pair(gt, pred, rgb=True)
    h, w = gt.shape[:2]
    if min(h, w) < 2 * _RADIUS + 1:
        raise ValueError(f"ssim_y_float needs images of at least 11x11, got {gt.shape}")
    smap = ssim_map(rgb_to_y_float(gt), rgb_to_y_float(pred), (0, 1))
    return float(np.mean(smap[_RADIUS:h - _RADIUS, _RADIUS:w - _RADIUS]))


__all__ = ["psnr_y_float", "rgb_to_y_float", "ssim_y_float"]
