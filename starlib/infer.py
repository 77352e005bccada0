"""Running a trained STARnet on frames: flows, tiling with overlap blending, uint8 outputs.

Tiling bounds memory: each tile of the input is processed with its flow crop and the outputs are blended
with weights that fall linearly towards tile borders, so a 1280x720 input runs in bounded memory on a CPU.
"""

from __future__ import annotations

import numpy as np
import torch

from starlib.data.degrade import to_tensor, to_uint8
from starlib.data.samples import FrameStack, flow_pair
from starlib.flow import FlowCache
from starlib.models import STARnet

OUTPUT_KEYS = ("sr_t", "sr_mid", "sr_t1", "lr_mid")


def _ramp(n: int, overlap: int, at_start: bool, at_end: bool) -> torch.Tensor:
    w = torch.ones(n)
    k = min(overlap, n // 2)
    if k > 0:
        ramp = torch.linspace(1.0 / (k + 1), k / (k + 1), k)
        if not at_start:
            w[:k] = ramp
        if not at_end:
            w[n - k:] = ramp.flip(0)
    return w


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, size - tile, step)) + [size - tile]
    return sorted(set(starts))


@torch.no_grad()
def tiled_forward(model: STARnet, lr_t: torch.Tensor, lr_t1: torch.Tensor, flow_fwd: torch.Tensor | None,
                  flow_bwd: torch.Tensor | None, tile: int = 0, overlap: int = 8,
                  keys: tuple[str, ...] = OUTPUT_KEYS) -> dict[str, torch.Tensor]:
    """Forward (B, 3, h, w) inputs tile by tile (``tile`` px at input resolution, 0 = whole frame).

    Returns the requested outputs blended over tiles, each at its own resolution (s*h or h).
    """
    if tile <= 0 or (lr_t.shape[-2] <= tile and lr_t.shape[-1] <= tile):
        out = model(lr_t, lr_t1, flow_fwd, flow_bwd)
        return {k: out[k] for k in keys}
    s = model.cfg.scale
    b, _, h, w = lr_t.shape
    th, tw = min(tile, h), min(tile, w)
    acc: dict[str, torch.Tensor] = {}
    norm: dict[str, torch.Tensor] = {}
    for y in _starts(h, th, overlap):
        for x in _starts(w, tw, overlap):
            sl = (..., slice(y, y + th), slice(x, x + tw))
            flows = (flow_fwd[sl], flow_bwd[sl]) if flow_fwd is not None else (None, None)
            out = model(lr_t[sl], lr_t1[sl], *flows)
            for k in keys:
                f = s if out[k].shape[-1] == s * tw else 1
                wy = _ramp(th * f, overlap * f, y == 0, y + th == h)
                wx = _ramp(tw * f, overlap * f, x == 0, x + tw == w)
                weight = (wy[:, None] * wx[None, :]).to(out[k].dtype)
                if k not in acc:
                    acc[k] = out[k].new_zeros((b, 3, h * f, w * f))
                    norm[k] = out[k].new_zeros((1, 1, h * f, w * f))
                ys, xs = slice(y * f, (y + th) * f), slice(x * f, (x + tw) * f)
                acc[k][..., ys, xs] += out[k] * weight
                norm[k][..., ys, xs] += weight
    return {k: acc[k] / norm[k] for k in keys}


class STARMethod:
    """A trained STARnet as an evaluation method: ``FrameStack -> {output: uint8 frame}``.

    ``inputs="lr"``: the LR frames go in; outputs ``sr_t``, ``sr_mid``, ``sr_t1`` (HR) and ``lr_mid``.
    ``inputs="hr"`` (STAR-T_HR): the HR frames go in and the LR-branch output is the HR middle frame,
    returned as ``hr_mid``. Flows come from ``cache``; ``tile`` bounds memory (0 = whole frames).
    """

    def __init__(self, model: STARnet, cache: FlowCache, inputs: str = "lr", tile: int = 0, overlap: int = 8,
                 normalization: str = "imagenet", device: str | torch.device = "cpu") -> None:
        self.model = model.eval().to(device)
        self.cache, self.inputs, self.tile, self.overlap = cache, inputs, tile, overlap
        self.normalization, self.device = normalization, device

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        seq = stack.lr if self.inputs == "lr" else stack.hr
        a, b = seq[0], seq[-1]
        to = lambda img: to_tensor(img, self.normalization)[None].to(self.device)  # noqa: E731
        flows: tuple[torch.Tensor | None, torch.Tensor | None] = (None, None)
        if self.model.cfg.use_flow:
            fwd, bwd = flow_pair(a, b, self.cache)
            flows = tuple(torch.from_numpy(f).permute(2, 0, 1)[None].to(self.device) for f in (fwd, bwd))
        keys = OUTPUT_KEYS if self.inputs == "lr" else ("lr_mid",)
        out = tiled_forward(self.model, to(a), to(b), *flows, tile=self.tile, overlap=self.overlap, keys=keys)
        result = {k: to_uint8(v[0], self.normalization) for k, v in out.items()}
        if self.inputs == "hr":
            return {"hr_mid": result["lr_mid"]}
        return result
