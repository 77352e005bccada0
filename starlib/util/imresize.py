"""MATLAB ``imresize(img, scale, 'bicubic')`` in NumPy (float64).

What is reproduced (MATLAB Image Processing Toolbox, ``imresize.m`` and its ``contributions``):

* cubic convolution kernel with a = -0.5 (Keys), support [-2, 2];
* when downscaling (scale < 1) the default antialiasing: the kernel is stretched to
  ``h(x) = scale * cubic(scale * x)`` and its width becomes ``4 / scale``;
* output size ``ceil(scale * size)``; output pixel k (1-based) maps to input coordinate
  ``u = k / scale + 0.5 * (1 - 1 / scale)``;
* the taps ``floor(u - width / 2) + (0 .. ceil(width) + 1)``, weights normalised per output
  pixel, columns that are zero for every output pixel dropped;
* symmetric border handling: out-of-range indices are mirrored with the edge pixel repeated
  (MATLAB's ``aux = [1:n, n:-1:1]`` table, applied with ``mod``);
* separable passes, the dimension with the smaller scale first; for a scalar scale both are
  equal and MATLAB's stable sort gives rows (axis 0) first, then columns (axis 1);
* ``uint8`` input: each pass's result is clipped to 0..255 and rounded half away from zero
  back to ``uint8`` (MATLAB's ``imresizemex`` returns the class of its input, so the
  intermediate image after the first pass is ``uint8`` too); float input: float64, no clip.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["imresize_matlab"]

_KERNEL_WIDTH = 4.0  # support of the bicubic kernel, in input pixels at scale >= 1


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return inner + outer


def _contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights (out_len, taps) and 0-based input indices (out_len, taps) of one resize pass."""
    antialias = scale < 1
    width = _KERNEL_WIDTH / scale if antialias else _KERNEL_WIDTH
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based, may be out of range
    dist = u[:, None] - idx
    weights = scale * _cubic(scale * dist) if antialias else _cubic(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx0 = mirror[np.mod(idx.astype(np.int64) - 1, mirror.size)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], idx0[:, keep]


def _round_to_uint8(x: np.ndarray) -> np.ndarray:
    """Clip to 0..255 and round half away from zero (MATLAB's conversion to uint8)."""
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5).astype(np.uint8)


def _resize_matrix(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """Dense (out_len, in_len) matrix of one pass (mirrored taps that repeat an index add up)."""
    weights, idx = _contributions(in_len, out_len, scale)
    rows = np.repeat(np.arange(out_len), weights.shape[1])
    matrix = np.zeros((out_len, in_len))
    np.add.at(matrix, (rows, idx.ravel()), weights.ravel())
    return matrix


def _resize_axis(img: np.ndarray, axis: int, out_len: int, scale: float) -> np.ndarray:
    """One separable pass along ``axis``; float64 result, or uint8 for uint8 input."""
    matrix = _resize_matrix(img.shape[axis], out_len, scale)
    moved = np.moveaxis(img, axis, 0).astype(np.float64)
    out = np.moveaxis(np.tensordot(matrix, moved, axes=(1, 0)), 0, axis)
    return _round_to_uint8(out) if img.dtype == np.uint8 else out


def imresize_matlab(img: np.ndarray, scale: float) -> np.ndarray:
    """Resize like MATLAB ``imresize(img, scale, 'bicubic')`` (antialiased when scale < 1).

    Args:
        img: HxW or HxWxC array, uint8 (any range is clipped to 0..255 on output) or float
            (any range, no clipping).
        scale: positive factor applied to both height and width.

    Returns:
        ``ceil(scale*H) x ceil(scale*W) [x C]``: uint8 for uint8 input, else float64.
    """
    img = np.asarray(img)
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize_matlab expects HxW or HxWxC, got shape {img.shape}")
    if not (img.dtype == np.uint8 or np.issubdtype(img.dtype, np.floating)):
        raise ValueError(f"imresize_matlab supports uint8 or float input, got {img.dtype}")
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    out = img if img.dtype == np.uint8 else img.astype(np.float64)
    for axis in (0, 1):  # equal scales: MATLAB's stable sort keeps dim 1 (rows) first
        out = _resize_axis(out, axis, math.ceil(scale * img.shape[axis]), scale)
    return out
