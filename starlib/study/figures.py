"""Figures shared by the notebooks. Every function returns a matplotlib Figure and writes nothing."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

import pandas as pd

from starlib.data.samples import FrameStack
from starlib.evaluation.baselines import bicubic_and_average
from starlib.evaluation.methods import Method, ground_truth
from starlib.evaluation.stats import REFERENCE_LEVELS, gain_by_reference_level
from starlib.flow import denormalize_flow, flow_to_color
from starlib.metrics import psnr as psnr_fn


def stamp(fig: plt.Figure, text: str) -> None:
    """Small grey provenance line at the bottom-left of a figure."""
    fig.text(0.005, 0.005, text, fontsize=6, color="gray", ha="left", va="bottom")


def sample_grid(stacks: Sequence[FrameStack], flows: Sequence[np.ndarray], titles: Sequence[str]) -> plt.Figure:
    """One row per sample: HR t, true HR middle, HR t+1, LR t (at its size), colour-coded LR flow t->t+1.
    ``flows`` are normalised (H, W, 2) flows, shown in pixels."""
    cols = ("frame t (HR)", "true middle (HR)", "frame t+1 (HR)", "frame t (LR input)", "flow t→t+1 (LR)")
    fig, axes = plt.subplots(len(stacks), len(cols), figsize=(2.4 * len(cols), 2.0 * len(stacks)), squeeze=False)
    for r, (stack, flow, title) in enumerate(zip(stacks, flows, titles)):
        mid = len(stack.hr) // 2
        px = denormalize_flow(flow)
        images = (stack.hr[0], stack.hr[mid], stack.hr[-1], stack.lr[0], flow_to_color(px))
        for c, img in enumerate(images):
            ax = axes[r, c]
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=8)
        axes[r, 0].set_ylabel(title, fontsize=8)
        mag = np.hypot(px[..., 0], px[..., 1])
        axes[r, 4].set_xlabel(f"max {mag.max():.1f} px", fontsize=7)
    fig.tight_layout()
    return fig


def worst_crop(reference_error: np.ndarray, crop: int, stride: int = 8) -> tuple[int, int, int]:
    """Top-left (y, x) and size of the ``crop`` x ``crop`` window where an (H, W) error map is largest."""
    k = min(crop, *reference_error.shape[:2])
    pooled = np.lib.stride_tricks.sliding_window_view(reference_error, (k, k))[::stride, ::stride].mean((-1, -2))
    y, x = np.unravel_index(np.argmax(pooled), pooled.shape)
    return int(y * stride), int(x * stride), k


def method_grid(gt: np.ndarray, preds: dict[str, np.ndarray], title: str, crop: int = 64,
                box: tuple[int, int, int] | None = None, psnr: bool = True) -> plt.Figure:
    """The paper's visual comparisons (Figs. 2, 6, 7): one column per method plus the ground truth; top row
    the whole frame with the zoom box, bottom row the zoomed crop (nearest-neighbour) with its PSNR. The box
    defaults to where the first method errs most."""
    first = next(iter(preds.values()))
    if box is None:
        box = worst_crop(np.abs(first.astype(np.float32) - gt).mean(-1), crop)
    y, x, k = box
    panels = list(preds.items()) + [("ground truth", gt)]
    fig, axes = plt.subplots(2, len(panels), figsize=(2.3 * len(panels), 4.9), squeeze=False)
    for i, (name, img) in enumerate(panels):
        axes[0, i].imshow(img)
        axes[0, i].add_patch(plt.Rectangle((x, y), k, k, fill=False, ec="red", lw=1))
        axes[0, i].set_title(name, fontsize=8)
        axes[1, i].imshow(img[y:y + k, x:x + k], interpolation="nearest")
        if psnr and name != "ground truth":
            axes[1, i].set_title(f"{psnr_fn(gt, img):.2f} dB (frame)", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def flow_panels(flows: dict[str, np.ndarray], frames: dict[str, np.ndarray], title: str) -> plt.Figure:
    """Fig. 5: colour-coded flows (pixels, one shared scale) next to frames (e.g. I_t+^sr with and without FR)."""
    scale = max(float(np.linalg.norm(f, axis=-1).max()) for f in flows.values()) or 1.0
    items = [(k, flow_to_color(v, max_magnitude=scale)) for k, v in flows.items()] + list(frames.items())
    fig, axes = plt.subplots(1, len(items), figsize=(2.6 * len(items), 2.8), squeeze=False)
    for ax, (name, img) in zip(axes[0], items):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(name, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def ema(values: Sequence[float], weight: float = 0.9) -> np.ndarray:
    """Exponential moving average (bias-corrected, as TensorBoard's smoothing): the trend of a noisy loss."""
    out, acc = np.empty(len(values)), 0.0
    for i, v in enumerate(values):
        acc = weight * acc + (1 - weight) * float(v)
        out[i] = acc / (1 - weight ** (i + 1))
    return out


def training_curves(log: list[dict], val: list[dict], title: str, smoothing: float = 0.9) -> plt.Figure:
    """Left: the training loss per logged step (thin) and its EMA (bold), log scale, with the learning rate.
    Right: validation PSNR of each output minus its bicubic + averaging baseline on the same held-out frames
    (above 0: the model beats the floor). The right panel says so when the run has no validation."""
    frame = pd.DataFrame(log).apply(pd.to_numeric, errors="coerce")
    fig, (ax, axv) = plt.subplots(1, 2, figsize=(11, 3.6))
    if len(frame):
        ax.plot(frame["step"], frame["total"], color="tab:blue", lw=0.7, alpha=0.4, label="total loss")
        ax.plot(frame["step"], ema(frame["total"].to_numpy(), smoothing), color="tab:blue", lw=2,
                label=f"EMA ({smoothing:g})")
        ax.set_yscale("log")
        ax2 = ax.twinx()
        ax2.plot(frame["step"], frame["lr"], color="gray", ls=":", lw=1)
        ax2.set_yscale("log")
        ax2.set_ylabel("learning rate", color="gray")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7, loc="upper right")
    vf = pd.DataFrame(val)
    if len(vf):
        vf[["step", "psnr", "baseline_psnr"]] = vf[["step", "psnr", "baseline_psnr"]].apply(pd.to_numeric)
        for output, g in vf.groupby("output", sort=False):
            axv.plot(g["step"], g["psnr"] - g["baseline_psnr"], marker="o", ms=3, label=output)
        axv.axhline(0, color="black", lw=0.8)
        axv.legend(fontsize=7)
        axv.set_ylabel("validation PSNR - baseline (dB)")
    else:
        axv.text(0.5, 0.5, "no validation split ([validation] windows = 0)", ha="center", va="center",
                 transform=axv.transAxes, fontsize=8)
    axv.set_xlabel("step")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def gain_by_item(a: pd.DataFrame, b: pd.DataFrame, outputs: Sequence[str], title: str, metric: str = "psnr",
                 edges: Sequence[float] = REFERENCE_LEVELS) -> plt.Figure:
    """One panel per output: each item's gain of ``a`` over the reference ``b`` (y) against the reference's own
    score (x), a colour per data set, with the mean gain and its 95% interval per level bin
    (:func:`starlib.evaluation.stats.gain_by_reference_level`, all data sets together) in black."""
    outputs = [o for o in outputs if o in set(a["output"]) and o in set(b["output"])]
    fig, axes = plt.subplots(1, max(len(outputs), 1), figsize=(4.2 * max(len(outputs), 1), 3.6), squeeze=False)
    keys = ["dataset", "output", "item"]
    paired = a[keys + [metric]].merge(b[keys + [metric]], on=keys, suffixes=("_a", "_b")).dropna()
    paired = paired[np.isfinite(paired[f"{metric}_a"]) & np.isfinite(paired[f"{metric}_b"])]
    for ax, output in zip(axes[0], outputs):
        rows = paired[paired["output"] == output]
        for dataset, g in rows.groupby("dataset"):
            ax.scatter(g[f"{metric}_b"], g[f"{metric}_a"] - g[f"{metric}_b"], s=9, alpha=0.5,
                       label=f"{dataset} ({len(g)})")
        pooled = {k: f[(f["output"] == output) & np.isfinite(f[metric])].assign(
            item=lambda d: d["dataset"] + "/" + d["item"].astype(str), dataset="all") for k, f in (("a", a), ("b", b))}
        bins = gain_by_reference_level(pooled["a"], pooled["b"], metric, edges)
        low, high = rows[f"{metric}_b"].min(), rows[f"{metric}_b"].max()
        for r in bins.itertuples():
            x = (max(r.level_low, low) + min(r.level_high, high)) / 2      # the bin's centre within the data
            err = [[r.gain - r.gain_ci95_low], [r.gain_ci95_high - r.gain]] if np.isfinite(r.gain_ci95_low) else None
            ax.errorbar([x], [r.gain], yerr=err, color="black", marker="s", ms=5, capsize=3, zorder=5)
            ax.annotate(f"{r.gain:+.2f}\nn={r.n}", (x, r.gain), textcoords="offset points", xytext=(6, 4), fontsize=8)
        for e in edges:
            if low < e < high:
                ax.axvline(e, color="gray", lw=0.6, ls=":")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(f"reference {metric.upper()} on the item (dB)")
        ax.set_ylabel("gain over the reference (dB)")
        ax.set_title(output, fontsize=10)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def comparison_figure(method: Method, stack: FrameStack, output: str, scale: int = 4, crop: int = 96) -> plt.Figure:
    """Ground truth, bicubic + averaging and ours on one sample: full frame, a zoomed crop where the
    baseline errs most, and absolute-error maps."""
    gt = ground_truth(stack, output)
    base = bicubic_and_average(stack, scale)[output]
    ours = method(stack)[output]
    err_b = np.abs(base.astype(float) - gt).mean(-1)
    y, x, k = worst_crop(err_b, crop)
    panels = [("ground truth", gt), ("bicubic + averaging", base), ("ours", ours)]
    fig, axes = plt.subplots(2, 4, figsize=(11, 5.2))
    for i, (name, img) in enumerate(panels):
        axes[0, i].imshow(img)
        axes[0, i].add_patch(plt.Rectangle((x, y), k, k, fill=False, ec="yellow", lw=1))
        axes[0, i].set_title(name, fontsize=9)
        axes[1, i].imshow(img[y:y + k, x:x + k], interpolation="nearest")
    vmax = max(err_b.max(), 1)
    axes[0, 3].imshow(err_b, cmap="magma", vmin=0, vmax=vmax)
    axes[0, 3].set_title("|error| bicubic + avg.", fontsize=9)
    axes[1, 3].imshow(np.abs(ours.astype(float) - gt).mean(-1), cmap="magma", vmin=0, vmax=vmax)
    axes[1, 3].set_title("|error| ours", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig
