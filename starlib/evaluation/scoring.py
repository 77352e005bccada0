"""Scoring methods on test windows: per-item metrics, then means with 95% confidence intervals.

A *method* is any callable ``FrameStack -> {output name: uint8 frame}``. Output names and their ground truth:
``sr_t`` / ``sr_t1`` -> HR frames 0 / L-1, ``sr_mid`` -> HR middle frame, ``lr_mid`` -> LR middle frame,
``hr_mid`` -> HR middle frame (T-SR with HR inputs). Metrics are those of :mod:`starlib.metrics`, computed on
uint8 frames exactly as the metric contract says (docs/metric_contract.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from starlib import metrics as M
from starlib.data.samples import FrameStack, load_window
from starlib.data.sources import Window

Method = Callable[[FrameStack], dict[str, np.ndarray]]

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
INTERPOLATED = ("sr_mid", "lr_mid", "hr_mid")  # IE is defined for in-between frames only


def ground_truth(stack: FrameStack, output: str) -> np.ndarray:
    mid = len(stack.hr) // 2
    table = {"sr_t": stack.hr[0], "sr_t1": stack.hr[-1], "sr_mid": stack.hr[mid], "lr_mid": stack.lr[mid],
             "hr_mid": stack.hr[mid]}
    if output not in table:
        raise ValueError(f"unknown output {output!r}; known: {sorted(table)}")
    return table[output]


def score(gt: np.ndarray, pred: np.ndarray, output: str, metrics: Sequence[str], niqe: bool = False) -> dict[str, float]:
    row = {}
    for name in metrics:
        if name.startswith("ie_") and output not in INTERPOLATED:
            continue
        row[name] = float(FULL_REFERENCE[name](gt, pred))
    if niqe and (pred.shape[0] // 96) * (pred.shape[1] // 96) >= 2:  # NIQE needs two 96x96 blocks
        row["niqe"] = float(M.niqe(pred))
    return row


def evaluate(method: Method, windows: Sequence[Window], dataset: str, outputs: Sequence[str],
             metrics: Sequence[str] = tuple(FULL_REFERENCE), niqe: bool = False, scale: int = 4,
             lr_method: str = "pil", progress: bool = True, desc: str | None = None) -> pd.DataFrame:
    """One row per (item, output): ``dataset, item, output, seconds``, and one column per metric."""
    rows = []
    for window in tqdm(windows, desc=desc or dataset, disable=not progress, leave=False):
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


def mean_ci95(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and the half-width of its 95% confidence interval (Student t over items); (mean, lo, hi).
    Infinite values (identical frames) make the mean infinite and the interval undefined (NaN)."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if n == 1 or not np.isfinite(x).all():
        return mean, float("nan"), float("nan")
    from scipy import stats

    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def summarize(per_item: pd.DataFrame, by: Sequence[str] = ("dataset", "output")) -> pd.DataFrame:
    """Mean, 95% CI bounds and count per group and metric (long format: one row per metric)."""
    skip = set(by) | {"item", "seconds"}
    metric_cols = [c for c in per_item.columns if c not in skip and per_item[c].dtype.kind == "f"]
    rows = []
    for keys, group in per_item.groupby(list(by), sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        for metric in metric_cols:
            vals = group[metric].dropna()
            if vals.empty:
                continue
            mean, lo, hi = mean_ci95(vals.to_numpy())
            rows.append({**dict(zip(by, keys)), "metric": metric, "mean": mean, "ci95_low": lo, "ci95_high": hi,
                         "n": len(vals)})
    return pd.DataFrame(rows)
