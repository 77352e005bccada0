"""Figures shared by the notebooks. Every function returns a matplotlib Figure and writes nothing."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from starlib.data.samples import FrameStack
from starlib.flow import denormalize_flow, flow_to_color


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
    from starlib.metrics import psnr as psnr_fn

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
