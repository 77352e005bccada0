"""Networks trained elsewhere (:mod:`starlib.published`) as evaluation methods and cascade parts.

- :class:`BasicVSRMethod`: S-SR (``sr_t``, ``sr_t1``) of the two input frames, BasicVSR run on that
  two-frame clip -- the same inputs every other method of Table 8 sees.
- :func:`super_resolve_clip`: BasicVSR on a whole clip (every frame sees all others, the way its authors
  score Vid4); :class:`BasicVSRWindow` does it on all LR frames of a window (more than the two inputs: label it).
- :class:`RIFEInterpolator`: ``(a, b) -> frame at t`` for uint8 frames, a T-SR part for the cascades
  (:class:`~starlib.evaluation.cascades.SpaceThenTime` / ``TimeThenSpace`` with ``interpolate=False``);
  :class:`RIFEMethod`: T-SR as a method (``lr_mid`` from the LR inputs, ``hr_mid`` from the HR inputs).

Each loads its published weights on first use (SHA256-checked, strict) and keeps them. Rows built from these
carry :data:`PUBLISHED_LABEL`; they are reference points, never part of the paper's claims.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from starlib.data.samples import FrameStack
from starlib.evaluation.baselines import FlowFn
from starlib.evaluation.cascades import SpaceThenTime, TimeThenSpace
from starlib.evaluation.methods import Method
from starlib.published.basicvsr import BasicVSR, load_basicvsr
from starlib.published.rife import IFNet, interpolate, load_rife

#: How rows of these networks are labelled in tables (the note column) and in the interactive comparison.
PUBLISHED_LABEL = "published weights (trained on Vimeo90K by their authors), not trained here"
#: Cache-key tags: the weight files' SHA256 prefixes name the exact weights in the score cache.
BASICVSR_KEY = "BasicVSR-vimeo90k-bi-2a29695a"
RIFE_KEY = "RIFE-v4.0-b234ad8d"


def _to_unit(frames: Sequence[np.ndarray], device: torch.device) -> torch.Tensor:
    """N x (H, W, 3) uint8 -> (N, 3, H, W) float32 in [0, 1]."""
    stacked = np.ascontiguousarray(np.stack(frames))
    return torch.from_numpy(stacked).to(device).permute(0, 3, 1, 2).float().div_(255.0)


def _to_uint8(t: torch.Tensor) -> list[np.ndarray]:
    """(N, 3, H, W) in [0, 1] -> N x (H, W, 3) uint8, clamped and rounded to nearest."""
    arr = t.clamp(0, 1).mul(255.0).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return list(arr)


class _Lazy:
    """Holds a published network, loaded on first use and moved to ``device``."""

    def __init__(self, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self._net: torch.nn.Module | None = None

    def _load(self) -> torch.nn.Module:
        raise NotImplementedError

    @property
    def net(self) -> torch.nn.Module:
        if self._net is None:
            self._net = self._load().to(self.device)
        return self._net


class BasicVSRMethod(_Lazy):
    """S-SR of the two input frames (``lr[0]``, ``lr[-1]``) by BasicVSR on that two-frame clip."""

    key = BASICVSR_KEY + "-pair"

    def _load(self) -> BasicVSR:
        return load_basicvsr()

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        sr_t, sr_t1 = super_resolve_clip([stack.lr[0], stack.lr[-1]], self.net)
        return {"sr_t": sr_t, "sr_t1": sr_t1}


class BasicVSRWindow:
    """S-SR of the first and last frame with every LR frame of the window as BasicVSR's clip (it reads the
    in-between frames too: an S-SR method with more input than the others of Table 8). Shares ``pair``'s
    network."""

    key = BASICVSR_KEY + "-window"

    def __init__(self, pair: BasicVSRMethod | None = None) -> None:
        self.pair = pair or BasicVSRMethod()

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        out = super_resolve_clip(list(stack.lr), self.pair.net, frames=[0, len(stack.lr) - 1])
        return {"sr_t": out[0], "sr_t1": out[1]}


def super_resolve_clip(clip: Sequence[np.ndarray], net: BasicVSR | None = None,
                       frames: list[int] | None = None) -> list[np.ndarray]:
    """BasicVSR x4 of a clip of (h, w, 3) uint8 frames (at least 2, sides > 32 px); ``frames`` picks the
    outputs (default: all). ``net`` defaults to the published network (loaded for this call)."""
    net = net if net is not None else load_basicvsr()
    device = next(net.parameters()).device
    with torch.no_grad():
        out = net(_to_unit(clip, device).unsqueeze(0), frames=frames)[0]
    return _to_uint8(out)


class RIFEInterpolator(_Lazy):
    """``(a, b) -> the frame at time t`` between two (H, W, 3) uint8 frames by RIFE v4.0."""

    key = RIFE_KEY

    def __init__(self, t: float = 0.5, device: str | torch.device = "cpu") -> None:
        super().__init__(device)
        self.t = t

    def _load(self) -> IFNet:
        return load_rife()

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.shape != b.shape:
            raise ValueError(f"frames to interpolate must have the same shape, got {a.shape} and {b.shape}")
        x = _to_unit([a, b], self.device)
        with torch.no_grad():
            mid = interpolate(self.net, x[:1], x[1:], self.t)
        return _to_uint8(mid)[0]


class RIFEMethod:
    """T-SR by RIFE: ``lr_mid`` between the LR inputs (Table 10) and/or ``hr_mid`` between the HR inputs
    (Table 9), as ``inputs`` says."""

    def __init__(self, interpolator: RIFEInterpolator | None = None, inputs: tuple[str, ...] = ("lr", "hr")) -> None:
        if not inputs or set(inputs) - {"lr", "hr"}:
            raise ValueError(f"inputs must be some of ('lr', 'hr'), got {inputs!r}")
        self.interpolator = interpolator or RIFEInterpolator()
        self.inputs = tuple(inputs)
        self.key = f"{RIFE_KEY}-{'-'.join(self.inputs)}"

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        out = {}
        for which in self.inputs:
            frames = stack.lr if which == "lr" else stack.hr
            out[f"{which}_mid"] = self.interpolator(frames[0], frames[-1])
        return out


def published_cascades(flow_fn: FlowFn, device: str | torch.device = "cpu") -> dict[str, Method]:
    """ST-SR cascades of the published networks (Table 7), by row label: both orders of BasicVSR and RIFE, and
    BasicVSR -> classical flow interpolation (flows from ``flow_fn``) so RIFE's share is separable. One network
    instance of each serves all three."""
    space, time = BasicVSRMethod(device), RIFEInterpolator(device=device)
    return {"BasicVSR -> RIFE": SpaceThenTime(space, time, interpolate=False),
            "RIFE -> BasicVSR": TimeThenSpace(time, space, interpolate=False),
            "BasicVSR -> flow interp.": SpaceThenTime(space, flow_fn)}
