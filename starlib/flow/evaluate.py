"""Measure flow backends on frames with known motion and on real frame pairs.

Known motion: a real frame is resampled under an exact affine map (translation, rotation, zoom), so the true
flow is known in closed form everywhere; frames are cut from the centre of a larger source so that no
pixel comes from outside it. Real pairs have no true flow; there we report the photometric error of
warping the second frame back onto the first (brightness constancy), a proxy only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .backends import BACKENDS, compute_flow, warp


@dataclass(frozen=True)
class Motion:
    name: str
    dx: float = 0.0         # px
    dy: float = 0.0         # px
    angle_deg: float = 0.0  # rotation about the frame centre
    zoom: float = 1.0


DEFAULT_MOTIONS = (
    Motion("subpixel shift", 0.6, -0.3),
    Motion("shift 4 px", 3.0, 2.0),
    Motion("shift 12 px", -10.0, 6.0),
    Motion("rotate+zoom", 1.0, 0.5, angle_deg=3.0, zoom=1.04),
)


def known_motion_pair(src: np.ndarray, motion: Motion, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut frames a, b (size = (h, w)) from the centre of ``src`` with b = a moved by ``motion``.

    Returns ``(a, b, flow_ab)`` with flow_ab (h, w, 2) in px: a(q) = b(q + flow_ab(q)) exactly (up to resampling).
    """
    h, w = size
    H, W = src.shape[:2]
    y0, x0 = (H - h) // 2, (W - w) // 2
    if y0 < 20 or x0 < 20:
        raise ValueError(f"source {W}x{H} is too small to cut {w}x{h} frames with a margin")
    a = src[y0:y0 + h, x0:x0 + w].copy()
    # Motion in frame coordinates: a point q of a moves to p = c + zoom * R (q - c) + d in b.
    c = np.array([(w - 1) / 2, (h - 1) / 2])
    th = np.deg2rad(motion.angle_deg)
    R = motion.zoom * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    d = np.array([motion.dx, motion.dy])
    # b(p) = a(q) with q = c + R^-1 (p - c - d); sample the source there (in source coordinates).
    Rinv = np.linalg.inv(R)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    p = np.stack([gx, gy], -1) - c - d
    q = p @ Rinv.T + c
    b = cv2.remap(src, (q[..., 0] + x0).astype(np.float32), (q[..., 1] + y0).astype(np.float32),
                  cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    qq = np.stack([gx, gy], -1) - c
    flow = qq @ R.T + c + d - np.stack([gx, gy], -1)
    return a, b, flow.astype(np.float32)


def endpoint_error(flow: np.ndarray, truth: np.ndarray, margin: int = 8) -> float:
    """Mean end-point error in px, ignoring a ``margin``-px border (where content leaves the frame)."""
    sl = (slice(margin, -margin), slice(margin, -margin))
    return float(np.linalg.norm(flow[sl] - truth[sl], axis=-1).mean())


def photometric_psnr(a: np.ndarray, b: np.ndarray, flow_ab: np.ndarray, margin: int = 8) -> float:
    """PSNR between a and b warped back by flow_ab (a(q) ~ b(q + F(q))), border excluded."""
    back = warp(b, flow_ab)
    sl = (slice(margin, -margin), slice(margin, -margin))
    mse = np.mean((back[sl].astype(np.float64) - a[sl].astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def benchmark_backends(sources: Sequence[np.ndarray], real_pairs: Sequence[tuple[np.ndarray, np.ndarray]],
                       size: tuple[int, int], backends: Sequence[str] | None = None,
                       motions: Sequence[Motion] = DEFAULT_MOTIONS, progress=None) -> list[dict]:
    """One row per backend: EPE per motion (mean over sources), mean EPE, photometric PSNR on real pairs,
    and milliseconds per flow at ``size``."""
    rows = []
    names = list(backends or BACKENDS)
    synthetic = [(m, *known_motion_pair(s, m, size)) for s in sources for m in motions]
    for name in (progress(names) if progress else names):
        row: dict = {"backend": name}
        times = []
        for m in motions:
            errs = []
            for mm, a, b, truth in synthetic:
                if mm != m:
                    continue
                t0 = time.perf_counter()
                flow = compute_flow(a, b, name)
                times.append(time.perf_counter() - t0)
                errs.append(endpoint_error(flow, truth))
            row[f"epe_{m.name.replace(' ', '_').replace('+', '_')}"] = float(np.mean(errs))
        row["epe_mean"] = float(np.mean([row[k] for k in row if k.startswith("epe_")]))
        psnrs = []
        for a, b in real_pairs:
            t0 = time.perf_counter()
            flow = compute_flow(a, b, name)
            times.append(time.perf_counter() - t0)
            psnrs.append(photometric_psnr(a, b, flow))
        row["photometric_psnr_real"] = float(np.mean(psnrs)) if psnrs else float("nan")
        row["ms_per_flow"] = 1000 * float(np.median(times))
        rows.append(row)
    return rows


def choose_backend(rows: Sequence[dict], tolerance: float = 0.05) -> str:
    """The most accurate backend (lowest ``epe_mean``); among those within ``tolerance`` (relative) of the
    best, the fastest."""
    best = min(r["epe_mean"] for r in rows)
    close = [r for r in rows if r["epe_mean"] <= best * (1 + tolerance)]
    return min(close, key=lambda r: r["ms_per_flow"])["backend"]
