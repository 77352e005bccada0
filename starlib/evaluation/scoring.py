"""Scoring a method (:mod:`starlib.evaluation.methods`) on test windows: one row of metrics per item and output.

Metrics are those of :mod:`starlib.metrics`, computed on uint8 frames exactly as the metric contract says
(docs/metric_contract.md); statistics over items are in :mod:`starlib.evaluation.stats`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from starlib.util.progress import progress_bar

from starlib import metrics as M
from starlib.data.samples import load_window
from starlib.data.sources import Window
from starlib.evaluation.methods import Method, ground_truth
from starlib.paper.outputs import INTERPOLATED  # IE is defined for in-between frames only

#: Full-reference metrics by column name (ground truth first).
FULL_REFERENCE: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "psnr": M.psnr,                 # RGB, MATLAB psnr (the paper's PSNR)
    "ssim": M.ssim_matlab3d,        # MATLAB ssim on HxWx3 (the paper's SSIM)
    "ssim_wang": M.ssim_per_channel,
    "psnr_y": M.psnr_y,
    "ssim_y": M.ssim_y,
    "ie_mae": M.ie_mae,             # interpolation error as VFI papers report it
    "ie_rms": M.ie_rms_middlebury,  # Middlebury benchmark definition
    "ie_starnet": M.ie_starnet_code,  # what the authors' inter_error.m computes
}


#: ``niqe_status`` of a row scored with NIQE: computed; not computable on this frame (NaN, e.g. a flat frame:
#: fewer than two 96x96 blocks with finite features); frame smaller than the two 96x96 blocks NIQE needs.
NIQE_OK, NIQE_UNDEFINED, NIQE_TOO_SMALL = "ok", "undefined", "too_small"


def score(gt: np.ndarray, pred: np.ndarray, output: str, metrics: Sequence[str],
          niqe: bool = False) -> dict[str, float | str]:
    """The metrics of one output frame. With ``niqe`` the row always has ``niqe`` (NaN when it cannot be
    computed) and ``niqe_status`` saying why (:data:`NIQE_OK`, :data:`NIQE_UNDEFINED`, :data:`NIQE_TOO_SMALL`),
    so summaries count such items instead of losing them."""
    row: dict[str, float | str] = {}
    for name in metrics:
        if name.startswith("ie_") and output not in INTERPOLATED:
            continue
        row[name] = float(FULL_REFERENCE[name](gt, pred))
    if niqe:
        if (pred.shape[0] // 96) * (pred.shape[1] // 96) >= 2:  # NIQE needs two 96x96 blocks
            value = float(M.niqe(pred))
            row["niqe"], row["niqe_status"] = value, NIQE_OK if math.isfinite(value) else NIQE_UNDEFINED
        else:
            row["niqe"], row["niqe_status"] = math.nan, NIQE_TOO_SMALL
    return row


def evaluate(method: Method, windows: Sequence[Window], dataset: str, outputs: Sequence[str],
             metrics: Sequence[str] = tuple(FULL_REFERENCE), niqe: bool = False, scale: int = 4,
             lr_method: str = "pil", progress: bool = True, desc: str | None = None) -> pd.DataFrame:
    """One row per (item, output): ``dataset, item, output, seconds``, and one column per metric (with ``niqe``
    also ``niqe_status``, see :func:`score`)."""
    rows = []
    for window in progress_bar(windows, desc=desc or dataset, disable=not progress, leave=False):
        stack = load_window(window, scale, lr_method)
        t0 = time.perf_counter()
        preds = method(stack)
        seconds = time.perf_counter() - t0
        for output in outputs:
            if output not in preds:
                raise KeyError(f"method returned no {output!r} (it returned {sorted(preds)})")
            gt = ground_truth(stack, output)
            if preds[output].shape != gt.shape:
                raise ValueError(f"{dataset}/{window.name}: {output} is {preds[output].shape}, ground truth {gt.shape}")
            rows.append({"dataset": dataset, "item": window.name, "output": output, "seconds": seconds,
                         **score(gt, preds[output], output, metrics, niqe)})
    return pd.DataFrame(rows)
