"""Interpolation error (IE) of a synthesised frame, in the three forms found in the literature.

* ``ie_mae``: mean |pred - gt| over pixels and channels, the number video-interpolation papers
  report as "IE" on Middlebury-other (e.g. EMA-VFI ``benchmark/MiddleBury.py``).
* ``ie_rms_middlebury``: Baker et al. (IJCV 2011): root-mean-square over pixels of the L2 norm of
  the colour difference.
* ``ie_starnet_code``: what STARnet's ``inter_error.m`` computes, ``mean(abs((128 + sr - gt) - 128))``
  evaluated in MATLAB uint8 saturating arithmetic; it equals mean(max(0, min(sr, 127) - gt)), a
  clipped one-sided error, not either of the above.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_pair


def _diff(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return pred.astype(np.float64) - gt.astype(np.float64)


def ie_mae(gt: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute error over all pixels and channels of uint8 HxW or HxWxC images."""
    check_pair(gt, pred)
    return float(np.mean(np.abs(_diff(gt, pred))))


def ie_rms_middlebury(gt: np.ndarray, pred: np.ndarray) -> float:
    """sqrt(mean over pixels of sum over channels (pred - gt)^2) (Baker et al. 2011 IE)."""
    check_pair(gt, pred)
    d = _diff(gt, pred)
    sq_norm = d * d if d.ndim == 2 else np.sum(d * d, axis=2)
    return float(np.sqrt(np.mean(sq_norm)))


def _u8(x: np.ndarray) -> np.ndarray:
    """Saturate an exact integer result to MATLAB's uint8 range."""
    return np.clip(x, 0, 255).astype(np.uint8)


def ie_starnet_code(gt: np.ndarray, pred: np.ndarray) -> float:
    """STARnet ``inter_error(gt, pred)``, each step in MATLAB uint8 saturating arithmetic.

    ``128.0 + pred`` saturates at 255, ``- gt`` and ``- 128.0`` saturate at 0, ``abs`` is a
    no-op on uint8, then MATLAB's nested ``mean(mean(mean(.)))`` in double.
    """
    check_pair(gt, pred)
    step = _u8(128 + pred.astype(np.int32))
    step = _u8(step.astype(np.int32) - gt.astype(np.int32))
    step = _u8(step.astype(np.int32) - 128)
    out = np.abs(step).astype(np.float64)
    while out.ndim > 0:  # mean over dim 1, then dim 2, then dim 3, as in inter_error.m
        out = out.mean(axis=0)
    return float(out)
