"""SSIM in two conventions: MATLAB's built-in ``ssim`` (3-D on colour) and Wang et al.'s reference.

Both use a Gaussian window with sigma 1.5 truncated to 11 taps (MATLAB: ``2*ceil(3*1.5)+1``),
C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2 and the SSIM map
``(2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))``.
They differ in where the window runs and how borders are handled:

* ``ssim_matlab3d``: MATLAB ``ssim(A, ref)`` on an HxWx3 array treats it as a volume and filters
  with ``imgaussfilt3(X, 1.5, 'FilterSize', 11, 'Padding', 'replicate')``, i.e. the window also
  spans the colour axis (11 taps over 3 channels, replicate-padded); the map is averaged over all
  HxWx3 voxels. On an HxW array it is MATLAB's 2-D ``ssim`` (``imgaussfilt``, replicate).
* ``ssim_per_channel``: Wang et al.'s ``ssim_index.m`` ('valid' filtering, no padding) per
  channel, then the mean over channels (BasicSR ``calculate_ssim``, skimage with
  ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``).

A 'valid' filter equals a 'same' filter cropped by the window radius, so both share one map.

Source for the 3-D case: MATLAB's ``ssim.m`` sets ``filtSize = 2*ceil(3*radius) + 1`` and, for a
non-matrix input, calls ``imgaussfilt3(X, radius, 'FilterSize', filtSize, 'Padding', 'replicate')``;
``imgaussfilt3`` documents that a scalar ``FilterSize`` gives a cubic filter, so the colour axis
also gets 11 taps (8 of them fall on replicated planes). Older releases built the same dense
11x11x11 Gaussian and used ``imfilter(..., 'replicate')``; separability makes the two equal.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import correlate1d

from ._checks import check_pair
from .color import rgb_to_y

_SIGMA = 1.5
_RADIUS = 5  # ceil(3 * sigma): MATLAB's filter size 2 * ceil(3 * 1.5) + 1 = 11
_C1 = (0.01 * 255.0) ** 2
_C2 = (0.03 * 255.0) ** 2


def gaussian_taps(sigma: float = _SIGMA, radius: int = _RADIUS) -> np.ndarray:
    """Normalised 1-D Gaussian of length ``2 * radius + 1`` (one axis of MATLAB's kernel)."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter(x: np.ndarray, axes: tuple[int, ...], taps: np.ndarray) -> np.ndarray:
    """Separable Gaussian along ``axes`` with replicate borders (scipy mode 'nearest')."""
    for axis in axes:
        x = correlate1d(x, taps, axis=axis, mode="nearest")
    return x


def ssim_map(gt: np.ndarray, pred: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """SSIM map (same shape as the inputs, float64) with the window run along ``axes``."""
    x = gt.astype(np.float64)
    y = pred.astype(np.float64)
    taps = gaussian_taps()
    mu_x, mu_y = _filter(x, axes, taps), _filter(y, axes, taps)
    mu_xy, mu_x2, mu_y2 = mu_x * mu_y, mu_x * mu_x, mu_y * mu_y
    s_x2 = _filter(x * x, axes, taps) - mu_x2
    s_y2 = _filter(y * y, axes, taps) - mu_y2
    s_xy = _filter(x * y, axes, taps) - mu_xy
    num = (2.0 * mu_xy + _C1) * (2.0 * s_xy + _C2)
    den = (mu_x2 + mu_y2 + _C1) * (s_x2 + s_y2 + _C2)
    return num / den


def ssim_matlab3d(gt: np.ndarray, pred: np.ndarray) -> float:
    """MATLAB ``ssim(pred, gt)`` on uint8 HxWx3 (3-D window over colour) or HxW (2-D).

    This is the SSIM that STARnet's ``evaluate.m`` reports. Mean over all voxels, no crop.
    """
    check_pair(gt, pred)
    axes = tuple(range(gt.ndim))
    return float(np.mean(ssim_map(gt, pred, axes)))


def ssim_per_channel(gt: np.ndarray, pred: np.ndarray) -> float:
    """Wang et al. reference SSIM on uint8 HxW or HxWxC ('valid' 11x11 window), channel mean.

    Images must be at least 11x11.
    """
    check_pair(gt, pred)
    h, w = gt.shape[:2]
    if min(h, w) < 2 * _RADIUS + 1:
        raise ValueError(f"ssim_per_channel needs images of at least 11x11, got {gt.shape}")
    smap = ssim_map(gt, pred, (0, 1))[_RADIUS:h - _RADIUS, _RADIUS:w - _RADIUS]
    per_channel = smap.reshape(smap.shape[0] * smap.shape[1], -1).mean(axis=0)
    return float(per_channel.mean())


def ssim_y(gt: np.ndarray, pred: np.ndarray) -> float:
    """Wang et al. SSIM on the uint8 BT.601 luma (``rgb_to_y``) of two HxWx3 uint8 RGB images."""
    check_pair(gt, pred, rgb=True)
    return ssim_per_channel(rgb_to_y(gt), rgb_to_y(pred))
