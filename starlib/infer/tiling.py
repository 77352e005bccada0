"""Tiled forward of a STARnet with overlap blending (frames, flows and uint8 outputs: :mod:`starlib.infer.runner`).

Tiling bounds memory: each tile of the input is processed with its flow crop and the outputs are blended
with weights that fall linearly towards tile borders, so a 1280x720 input runs in bounded memory on a CPU.
"""

from __future__ import annotations

import torch

from starlib.models import STARnet
from starlib.paper.outputs import NETWORK_OUTPUTS


def _ramp(n: int, overlap: int, at_start: bool, at_end: bool, margin: int = 0) -> torch.Tensor:
    """Blending weights (n,) of one tile along one axis.

    Towards an inner tile border (one that is not an image border) the weight is 0 over the first ``margin``
    px, then rises linearly over the next ``overlap - 2 * margin`` px to 1. With ``margin`` at least the
    receptive-field radius, no pixel that a tile computes from clipped context gets any weight.
    """
    w = torch.ones(n)
    k = min(overlap, n // 2)
    m = min(margin, k // 2)
    ramp_len = k - 2 * m
    ramp = torch.linspace(1.0 / (ramp_len + 1), ramp_len / (ramp_len + 1), ramp_len)
    if k > 0:
        if not at_start:
            w[:m] = 0.0
            w[m:m + ramp_len] = ramp
        if not at_end:
            w[n - m:] = 0.0
            w[n - m - ramp_len:n - m] = ramp.flip(0)
    return w


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, size - tile, step)) + [size - tile]
    return sorted(set(starts))


def _axis_weights(size: int, tile: int, overlap: int, margin: int,
                  f: int) -> tuple[list[int], list[torch.Tensor], torch.Tensor]:
    """Tile starts along one axis (input px), each tile's weights at output scale ``f`` (tile * f,), and the
    sum of all tiles' weights (size * f,), which the blended output is divided by."""
    starts = _starts(size, tile, overlap)
    weights = [_ramp(tile * f, overlap * f, y == 0, y + tile == size, margin * f) for y in starts]
    total = torch.zeros(size * f)
    for y, w in zip(starts, weights):
        total[y * f:(y + tile) * f] += w
    if not bool((total > 0).all()):
        raise ValueError(f"tiles of {tile} px with overlap {overlap} and margin {margin} leave pixels without "
                         f"weight; use overlap >= 2 * margin")
    return starts, weights, total


@torch.no_grad()
def tiled_forward(model: STARnet, lr_t: torch.Tensor, lr_t1: torch.Tensor, flow_fwd: torch.Tensor | None,
                  flow_bwd: torch.Tensor | None, tile: int = 0, overlap: int = 8,
                  keys: tuple[str, ...] = NETWORK_OUTPUTS, margin: int = 0) -> dict[str, torch.Tensor]:
    """Forward (B, 3, h, w) inputs tile by tile (``tile`` px at input resolution, 0 = whole frame).

    Neighbouring tiles overlap by ``overlap`` px; outputs are blended with weights that rise linearly from
    an inner tile border (see :func:`_ramp`). ``margin`` px at each inner border get weight 0: when the
    network's receptive-field radius is at most ``margin`` (input px), the blend equals the whole-frame
    output up to float rounding. ``margin=0`` keeps every pixel of every tile (the original behaviour).
    Returns the requested outputs, each at its own resolution (s*h or h), float32 when tiled.
    """
    if tile <= 0 or (lr_t.shape[-2] <= tile and lr_t.shape[-1] <= tile):
        out = model(lr_t, lr_t1, flow_fwd, flow_bwd)
        return {k: out[k] for k in keys}
    if not 0 <= 2 * margin <= overlap < tile:
        raise ValueError(f"tiling needs 0 <= 2 * margin <= overlap < tile, got tile={tile}, overlap={overlap}, "
                         f"margin={margin}")
    s = model.cfg.scale
    b, _, h, w = lr_t.shape
    th, tw = min(tile, h), min(tile, w)
    axes = {f: (_axis_weights(h, th, overlap, margin, f), _axis_weights(w, tw, overlap, margin, f)) for f in (1, s)}
    acc: dict[str, torch.Tensor] = {}
    for y_index, y in enumerate(axes[1][0][0]):
        for x_index, x in enumerate(axes[1][1][0]):
            sl = (..., slice(y, y + th), slice(x, x + tw))
            flows = (flow_fwd[sl], flow_bwd[sl]) if flow_fwd is not None else (None, None)
            out = model(lr_t[sl], lr_t1[sl], *flows)
            for k in keys:
                f = s if out[k].shape[-1] == s * tw else 1
                (_, wys, _), (_, wxs, _) = axes[f]
                weight = (wys[y_index][:, None] * wxs[x_index][None, :]).to(out[k].device)  # (th*f, tw*f)
                if k not in acc:
                    acc[k] = torch.zeros((b, out[k].shape[1], h * f, w * f), device=out[k].device)
                ys, xs = slice(y * f, (y + th) * f), slice(x * f, (x + tw) * f)
                acc[k][..., ys, xs] += out[k].float() * weight
    for k in keys:  # the weights are a product of per-axis weights, so their sum is one too
        f = acc[k].shape[-1] // w
        (_, _, total_y), (_, _, total_x) = axes[f]
        acc[k].div_(total_y.to(acc[k].device)[:, None]).div_(total_x.to(acc[k].device)[None, :])
    return acc
