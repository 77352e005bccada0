"""PSNR as MATLAB ``psnr`` computes it on uint8 images (peak 255, no border crop)."""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_pair
from .color import rgb_to_y

_PEAK = 255.0


def _mse(gt: np.ndarray, pred: np.ndarray) -> float:
    """Mean squared error over all pixels and channels, float64."""
    diff = pred.astype(np.float64) - gt.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(gt: np.ndarray, pred: np.ndarray) -> float:
    """MATLAB ``psnr(pred, gt)`` on uint8 HxW or HxWxC: 10 log10(255^2 / MSE), inf if equal.

    The MSE runs over all pixels and all channels (RGB PSNR, the STARnet protocol).
    """
    check_pair(gt, pred)
    mse = _mse(gt, pred)
    return math.inf if mse == 0.0 else 10.0 * math.log10(_PEAK**2 / mse)


def psnr_y(gt: np.ndarray, pred: np.ndarray) -> float:
    """PSNR on the uint8 BT.601 luma of two HxWx3 uint8 RGB images (peak 255, Y in 16..235)."""
    check_pair(gt, pred, rgb=True)
    return psnr(rgb_to_y(gt), rgb_to_y(pred))
