"""Flow colour coding (the Middlebury colour wheel of Baker et al. 2011), for figures."""

from __future__ import annotations

import numpy as np

# Hue transitions of the wheel: red-yellow, yellow-green, green-cyan, cyan-blue, blue-magenta, magenta-red.
_SEGMENTS = (15, 6, 4, 11, 13, 6)


def color_wheel() -> np.ndarray:
    """(55, 3) float RGB in [0, 255] around the wheel, starting at red."""
    ry, yg, gc, cb, bm, mr = _SEGMENTS
    cols = []
    ramp = lambda n: np.floor(255 * np.arange(n) / n)  # noqa: E731
    cols.append(np.stack([np.full(ry, 255.0), ramp(ry), np.zeros(ry)], 1))
    cols.append(np.stack([255 - ramp(yg), np.full(yg, 255.0), np.zeros(yg)], 1))
    cols.append(np.stack([np.zeros(gc), np.full(gc, 255.0), ramp(gc)], 1))
    cols.append(np.stack([np.zeros(cb), 255 - ramp(cb), np.full(cb, 255.0)], 1))
    cols.append(np.stack([ramp(bm), np.zeros(bm), np.full(bm, 255.0)], 1))
    cols.append(np.stack([np.full(mr, 255.0), np.zeros(mr), 255 - ramp(mr)], 1))
    return np.concatenate(cols, 0)


def flow_to_color(flow_px: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """(H, W, 2) flow in pixels -> (H, W, 3) uint8: hue = direction, saturation = magnitude
    (relative to ``max_magnitude``, default the largest finite magnitude in the field)."""
    u, v = flow_px[..., 0].astype(np.float64), flow_px[..., 1].astype(np.float64)
    bad = ~np.isfinite(u) | ~np.isfinite(v)
    u, v = np.where(bad, 0, u), np.where(bad, 0, v)
    mag = np.hypot(u, v)
    scale = max_magnitude if max_magnitude else max(float(mag.max()), 1e-9)
    u, v, mag = u / scale, v / scale, mag / scale
    wheel = color_wheel()
    n = len(wheel)
    angle = np.arctan2(-v, -u) / np.pi                      # (-1, 1]
    fk = (angle + 1) / 2 * (n - 1)
    k0 = np.floor(fk).astype(int)
    k1 = (k0 + 1) % n
    f = (fk - k0)[..., None]
    col = ((1 - f) * wheel[k0] + f * wheel[k1]) / 255.0     # (H, W, 3)
    m = np.clip(mag, 0, 1)[..., None]
    col = np.where(mag[..., None] <= 1, 1 - m * (1 - col), col * 0.75)
    col[bad] = 0
    return np.round(col * 255).astype(np.uint8)
