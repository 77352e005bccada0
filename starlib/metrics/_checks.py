"""Input validation and MATLAB-style rounding shared by the metric functions."""

from __future__ import annotations

import numpy as np

_ROUND_HINT = "round predictions to uint8 (e.g. np.clip(x * 255, 0, 255).round().astype(np.uint8)) before scoring"


def check_image(img: np.ndarray, *, name: str = "image", rgb: bool = False) -> np.ndarray:
    """Return ``img`` as an array after checking it is uint8 HxW or HxWxC (HxWx3 if ``rgb``)."""
    if not isinstance(img, np.ndarray):
        raise ValueError(f"{name} must be a numpy uint8 array, got {type(img).__name__}; {_ROUND_HINT}")
    if img.dtype != np.uint8:
        raise ValueError(f"{name} must have dtype uint8, got {img.dtype} with shape {img.shape}; {_ROUND_HINT}")
    if rgb and (img.ndim != 3 or img.shape[2] != 3):
        raise ValueError(f"{name} must be an HxWx3 RGB uint8 array, got shape {img.shape}")
    if img.ndim not in (2, 3) or img.size == 0:
        raise ValueError(f"{name} must be a non-empty HxW or HxWxC uint8 array, got shape {img.shape}")
    return img


def check_pair(gt: np.ndarray, pred: np.ndarray, *, rgb: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Check a (ground truth, prediction) pair: both uint8, same shape."""
    check_image(gt, name="gt", rgb=rgb)
    check_image(pred, name="pred", rgb=rgb)
    if gt.shape != pred.shape:
        raise ValueError(f"gt and pred must have the same shape, got {gt.shape} and {pred.shape}")
    return gt, pred


def round_to_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB's conversion of a double result to uint8: round half away from zero, saturate."""
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5).astype(np.uint8)
