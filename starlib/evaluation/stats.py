"""The statistics of every table and claim: a mean with its 95% interval, and the paired difference of two
methods over the items both scored."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Metrics where lower is better (the paired margin of a claim is sign-flipped for these).
LOWER_IS_BETTER = frozenset({"niqe", "ie_mae", "ie_rms", "ie_starnet"})


def mean_ci95(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and its 95% confidence interval (Student t over items): ``(mean, low, high)``.
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


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, metric: str, on: Sequence[str] = ("item",),
                      sign: float = 1.0) -> tuple[float, float, float, int]:
    """``sign * (a - b)`` of ``metric`` paired over the rows of ``a`` and ``b`` that share the ``on`` keys and
    have the metric: ``(mean, low, high, n)`` with the 95% interval of :func:`mean_ci95`."""
    keys = list(on)
    paired = a[keys + [metric]].dropna().merge(b[keys + [metric]].dropna(), on=keys, suffixes=("_a", "_b"))
    if paired.empty:
        return float("nan"), float("nan"), float("nan"), 0
    mean, low, high = mean_ci95((sign * (paired[f"{metric}_a"] - paired[f"{metric}_b"])).to_numpy())
    return mean, low, high, len(paired)


def metric_columns(per_item: pd.DataFrame) -> list[str]:
    """The metric columns of a per-item score frame (float columns that are not keys or bookkeeping such as
    ``niqe_scored`` or a ``<metric>_status``)."""
    skip = {"dataset", "item", "output", "method", "seconds", "niqe_scored"}
    return [c for c in per_item.columns
            if c not in skip and not c.endswith("_status") and per_item[c].dtype.kind == "f"]


def n_missing(group: pd.DataFrame, metric: str) -> int | None:
    """How many items of ``group`` (one data set and output) have no value of ``metric``, or ``None`` when the
    metric does not apply to the group at all: no item has it and none records that it could not be computed
    (IE of an output that is not an in-between frame, NIQE of frames smaller than two 96x96 blocks or not asked
    for). A group where NIQE was computed but is undefined on every item (flat frames) counts them all."""
    if metric not in group.columns:
        return None
    have = int(group[metric].notna().sum())
    if have == 0:
        status = group.get(f"{metric}_status")
        if status is None or not (status == "undefined").any():
            return None
    return len(group) - have


def summarize(per_item: pd.DataFrame, by: Sequence[str] = ("dataset", "output")) -> pd.DataFrame:
    """Mean, 95% CI bounds and count per group and metric (long format: one row per metric). ``n`` counts the
    items with a value, ``n_missing`` those where the metric could not be computed (:func:`n_missing`): they
    are reported, not dropped; a metric no item could be computed on still gets a row (mean NaN, n 0)."""
    metric_cols = [c for c in metric_columns(per_item) if c not in by]
    rows = []
    for keys, group in per_item.groupby(list(by), sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        for metric in metric_cols:
            missing = n_missing(group, metric)
            if missing is None:
                continue
            vals = group[metric].dropna()
            mean, lo, hi = mean_ci95(vals.to_numpy())
            rows.append({**dict(zip(by, keys)), "metric": metric, "mean": mean, "ci95_low": lo, "ci95_high": hi,
                         "n": len(vals), "n_missing": missing})
    return pd.DataFrame(rows)


#: Default level bins (dB) of :func:`gain_by_reference_level`: below 35 dB the floor errs visibly; above 45 dB
#: the two input frames are nearly identical (static scenes, duplicated frames), where the floor is close to exact.
REFERENCE_LEVELS = (35.0, 40.0, 45.0)


def gain_by_reference_level(a: pd.DataFrame, b: pd.DataFrame, metric: str = "psnr",
                            edges: Sequence[float] = REFERENCE_LEVELS) -> pd.DataFrame:
    """Where a method gains over a reference, binned by the reference's own score on each item.

    ``a`` and ``b`` are per-item frames (``dataset``, ``item``, ``output``, ``metric``). Items are paired per
    (dataset, output) and put in bins of ``b[metric]`` cut at ``edges`` (ascending; the outer bins are open).
    A mean of per-item PSNR is dominated by the items where the reference is nearly exact: a learned
    correction with a small noise floor loses many dB there and a little on the rest, which this shows.
    Returns one row per (dataset, output, bin): ``level`` (e.g. ``"[35, 40)"``) with its bounds ``level_low``
    and ``level_high`` (infinite for the outer bins), ``n``, ``reference_mean``,
    ``method_mean``, ``gain`` (``a - b``) with ``gain_ci95_low``/``gain_ci95_high``, and ``share``, the
    bin's part of the items. Items with an infinite score (identical frames) are left out."""
    edges = [float(e) for e in edges]
    if sorted(edges) != edges or len(set(edges)) != len(edges):
        raise ValueError(f"gain_by_reference_level: edges must be strictly ascending, got {edges}")
    keys = ["dataset", "output", "item"]
    paired = a[keys + [metric]].dropna().merge(b[keys + [metric]].dropna(), on=keys, suffixes=("_a", "_b"))
    paired = paired[np.isfinite(paired[f"{metric}_a"]) & np.isfinite(paired[f"{metric}_b"])]   # identical frames
    bounds = [-math.inf] + edges + [math.inf]
    labels = [f"< {edges[0]:g}"] + [f"[{lo:g}, {hi:g})" for lo, hi in zip(edges, edges[1:])] + [f">= {edges[-1]:g}"]
    rows = []
    for (dataset, output), group in paired.groupby(["dataset", "output"], sort=False):
        for lo, hi, label in zip(bounds, bounds[1:], labels):
            sel = group[(group[f"{metric}_b"] >= lo) & (group[f"{metric}_b"] < hi)]
            if sel.empty:
                continue
            gain, low, high = mean_ci95((sel[f"{metric}_a"] - sel[f"{metric}_b"]).to_numpy())
            rows.append({"dataset": dataset, "output": output, "level": label, "level_low": lo, "level_high": hi,
                         "n": len(sel),
                         "share": len(sel) / len(group), "reference_mean": float(sel[f"{metric}_b"].mean()),
                         "method_mean": float(sel[f"{metric}_a"].mean()), "gain": gain,
                         "gain_ci95_low": low, "gain_ci95_high": high})
    return pd.DataFrame(rows, columns=["dataset", "output", "level", "level_low", "level_high", "n", "share", "reference_mean", "method_mean",
                                       "gain", "gain_ci95_low", "gain_ci95_high"])
