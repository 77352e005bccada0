"""Methods built from trained networks and classical pieces, for the comparisons of Tables 7-10.

Every method maps a :class:`~starlib.data.FrameStack` to uint8 outputs named as in
:mod:`starlib.paper.outputs` (``sr_t``, ``sr_mid``, ``sr_t1``, ``lr_mid``, ``hr_mid``).

- :class:`PairSR`: any LR-input network method applied to an arbitrary pair of LR frames.
- :class:`SpaceThenTime`: S-SR of both inputs, then frame interpolation between the two HR results
  (the paper's "DBPN -> DAIN" family).
- :class:`TimeThenSpace`: frame interpolation between the LR inputs, then S-SR of the new LR frame with
  the nearer input as its neighbour (the paper's "TOFlow -> DBPN" family).
- :class:`LRFramesAsInput`: an HR-input T-SR model (STAR-T_HR) run on the LR frames (Table 10).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from starlib.data.samples import FrameStack
from starlib.evaluation.baselines import FlowFn, flow_interpolate
from starlib.evaluation.methods import Method


class PairSR:
    """S-SR of frame ``a`` with frame ``b`` as its neighbour (and of ``b`` with ``a``) by a method that reads
    ``stack.lr[0]`` and ``stack.lr[-1]`` and returns ``sr_t`` / ``sr_t1``."""

    def __init__(self, method: Method) -> None:
        self.method = method

    def __call__(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self.method(FrameStack("pair", [], [a, b]))
        return out["sr_t"], out["sr_t1"]


class SpaceThenTime:
    """ST-SR as S-SR -> T-SR: ``sr_t``, ``sr_t1`` from the S-SR method, ``sr_mid`` by interpolating them."""

    def __init__(self, space: Method, time: FlowFn | Callable[[np.ndarray, np.ndarray], np.ndarray],
                 interpolate: bool = True) -> None:
        self.space, self.time, self.interpolate = PairSR(space), time, interpolate

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        sr_t, sr_t1 = self.space(stack.lr[0], stack.lr[-1])
        mid = flow_interpolate(sr_t, sr_t1, self.time) if self.interpolate else self.time(sr_t, sr_t1)
        return {"sr_t": sr_t, "sr_t1": sr_t1, "sr_mid": mid}


class TimeThenSpace:
    """ST-SR as T-SR -> S-SR: ``lr_mid`` interpolated between the LR inputs, then super-resolved with the
    first input as its neighbour (for a single-image S-SR network the neighbour is ignored)."""

    def __init__(self, time: FlowFn | Callable[[np.ndarray, np.ndarray], np.ndarray], space: Method,
                 interpolate: bool = True) -> None:
        self.time, self.space, self.interpolate = time, PairSR(space), interpolate

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        a, b = stack.lr[0], stack.lr[-1]
        lr_mid = flow_interpolate(a, b, self.time) if self.interpolate else self.time(a, b)
        sr_mid, _ = self.space(lr_mid, a)
        return {"lr_mid": lr_mid, "sr_mid": sr_mid}


class LRFramesAsInput:
    """Run an HR-input T-SR method (returns ``hr_mid`` from ``stack.hr``) on the LR frames: ``lr_mid``."""

    key_suffix = "-on-lr"   # how a score cache key tells it from the wrapped method

    def __init__(self, method: Method) -> None:
        self.method = method

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        return {"lr_mid": self.method(FrameStack(stack.name, list(stack.lr), list(stack.lr)))["hr_mid"]}
