"""Differentiable backward warping and the linear-motion midpoint of two frames (the ``mid_base="warp"``
baseline of :class:`starlib.models.STARnet`; the same motion model as
:func:`starlib.evaluation.baselines.flow_interpolate`, without its occlusion masks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from starlib.paper.conventions import MAX_FLOW


def backward_warp(image: torch.Tensor, flow_px: torch.Tensor) -> torch.Tensor:
    """``out(x) = image(x + flow(x))``, bilinear, border-clamped. (B, C, H, W) x (B, 2, H, W) px (u, v) ->
    (B, C, H, W)."""
    b, _, h, w = image.shape
    ys = torch.arange(h, device=image.device, dtype=flow_px.dtype).view(1, h, 1)
    xs = torch.arange(w, device=image.device, dtype=flow_px.dtype).view(1, 1, w)
    gx = (xs + flow_px[:, 0]) * (2 / max(w - 1, 1)) - 1
    gy = (ys + flow_px[:, 1]) * (2 / max(h - 1, 1)) - 1
    grid = torch.stack([gx, gy], dim=-1).to(image.dtype)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def midpoint(a: torch.Tensor, b: torch.Tensor, flow_ab: torch.Tensor, flow_ba: torch.Tensor) -> torch.Tensor:
    """The frame halfway between ``a`` and ``b`` under linear motion: each warped to t = 1/2 with
    F_t0 = (F_ba - F_ab) / 4 and F_t1 = (F_ab - F_ba) / 4 (Super SloMo's estimate), then averaged.
    Flows are in the networks' normalised units (``-px / 150``) at the frames' own size (B, 2, h, w); frames
    larger than the flows (HR frames, LR flows) get the flows upscaled bilinearly and scaled to their pixels."""
    size = a.shape[-2:]
    factor = size[-1] / flow_ab.shape[-1]
    px_ab, px_ba = -MAX_FLOW * flow_ab, -MAX_FLOW * flow_ba
    if tuple(flow_ab.shape[-2:]) != tuple(size):
        px_ab = factor * F.interpolate(px_ab, size=size, mode="bilinear", align_corners=False)
        px_ba = factor * F.interpolate(px_ba, size=size, mode="bilinear", align_corners=False)
    quarter = (px_ba - px_ab) / 4
    return (backward_warp(a, quarter) + backward_warp(b, -quarter)) / 2
