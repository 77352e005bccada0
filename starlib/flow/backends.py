"""Optical flow from OpenCV behind one function, and the authors' flow conventions.

``compute_flow(a, b)`` returns the flow *from a to b* in pixels, (H, W, 2) float32, channels (u, v) =
(x, y) displacement: a(y, x) ~ b(y + v, x + u). The authors used Ce Liu's coarse-to-fine flow (pyflow,
CPython 3.5 only); we use OpenCV's, the default chosen by ``notebooks/01_data`` from a measured
accuracy/speed table (``results/<profile>/flow_backends.csv``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from starlib.paper.conventions import MAX_FLOW  # re-exported: px, the authors clip and scale flows by it

DEFAULT_BACKEND = "dis_medium"


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def _dis(preset: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        algo = cv2.DISOpticalFlow_create(preset)
        return algo.calc(_gray(a), _gray(b), None)
    return run


def _farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cv2.calcOpticalFlowFarneback(_gray(a), _gray(b), None, pyr_scale=0.5, levels=5, winsize=15,
                                        iterations=3, poly_n=5, poly_sigma=1.2, flags=0)


def _deepflow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cv2.optflow.createOptFlow_DeepFlow().calc(_gray(a), _gray(b), None)


def _tvl1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cv2.optflow.DualTVL1OpticalFlow_create().calc(_gray(a), _gray(b), None)


BACKENDS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "dis_ultrafast": _dis(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST),
    "dis_fast": _dis(cv2.DISOPTICAL_FLOW_PRESET_FAST),
    "dis_medium": _dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
    "farneback": _farneback,
    "deepflow": _deepflow,
    "tvl1": _tvl1,
}


def compute_flow(a: np.ndarray, b: np.ndarray, backend: str = DEFAULT_BACKEND) -> np.ndarray:
    """Flow from frame ``a`` to frame ``b``: two (H, W, 3) uint8 RGB frames -> (H, W, 2) float32 pixels."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown flow backend {backend!r}; choose one of {sorted(BACKENDS)}")
    for name, img in (("a", a), ("b", b)):
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"frame {name} must be (H, W, 3) uint8, got {img.dtype} {img.shape}")
    if a.shape != b.shape:
        raise ValueError(f"frames differ in size: {a.shape} vs {b.shape}")
    flow = BACKENDS[backend](np.ascontiguousarray(a), np.ascontiguousarray(b))
    return np.ascontiguousarray(flow, dtype=np.float32)


def normalize_flow(flow_px: np.ndarray, max_flow: float = MAX_FLOW) -> np.ndarray:
    """The authors' normalisation: clip to +-max_flow px and map to [-1, 1] *with the sign flipped*,
    i.e. ``-clip(f, -150, 150) / 150`` (spec 5.4; the flip comes from their min/max formula)."""
    return (-np.clip(flow_px, -max_flow, max_flow) / max_flow).astype(np.float32)


def denormalize_flow(flow_norm: np.ndarray, max_flow: float = MAX_FLOW) -> np.ndarray:
    """Inverse of :func:`normalize_flow` for unclipped values: normalised units -> pixels."""
    return (-flow_norm * max_flow).astype(np.float32)


def fr_ground_truth(first: np.ndarray, middle: np.ndarray, last: np.ndarray, backend: str = DEFAULT_BACKEND,
                    flow_fn: Callable[..., np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Targets of the flow-refinement loss (eq. 15): the *sum* of the two normalised half-flows through the
    true middle frame, F_f^gt = n(F_{0->1}) + n(F_{1->2}), F_b^gt = n(F_{2->1}) + n(F_{1->0}) (spec 5.4).
    ``flow_fn(a, b)`` may replace :func:`compute_flow` (for example a cached one)."""
    flow = flow_fn or (lambda a, b: compute_flow(a, b, backend))
    fwd = normalize_flow(flow(first, middle)) + normalize_flow(flow(middle, last))
    bwd = normalize_flow(flow(last, middle)) + normalize_flow(flow(middle, first))
    return fwd, bwd


def warp(img: np.ndarray, flow_px: np.ndarray) -> np.ndarray:
    """Backward warp: out(y, x) = img(y + v, x + u), bilinear, border replicated. (H, W, C) -> (H, W, C)."""
    h, w = flow_px.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + flow_px[..., 0], gy + flow_px[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
