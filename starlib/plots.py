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
