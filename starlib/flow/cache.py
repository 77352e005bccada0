"""A disk cache of optical flows keyed by frame content, backend and parameters.

Flows are computed once (the paper pre-computes them). Each entry is one ``.npy`` file written to a
temporary name and renamed into place, so concurrent writers and killed processes never leave a partial
entry visible; an unreadable entry is recomputed. A full disk is one warning: the flows are still computed
and returned, only not cached.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

from starlib.util.atomic import DiskFullError, atomic_path
from starlib.util.hashing import array_digest
from starlib.util.paths import CACHE_DIR

from .backends import DEFAULT_BACKEND, compute_flow

CACHE_VERSION = "1"  # bump when the meaning of a cached flow changes
DEFAULT_CACHE_DIR = CACHE_DIR / "flows"


class FlowCache:
    """``cache.flow(a, b)`` returns compute_flow(a, b, backend) in pixels, from disk when present."""

    def __init__(self, root: str | os.PathLike | None = DEFAULT_CACHE_DIR, backend: str = DEFAULT_BACKEND) -> None:
        self.root = Path(root) if root is not None else None
        self.backend = backend
        self.hits = 0
        self.misses = 0
        self.disk_full_warned = False

    def key(self, a: np.ndarray, b: np.ndarray) -> str:
        h = hashlib.sha256()
        h.update(f"v{CACHE_VERSION}|{self.backend}|".encode())
        h.update(array_digest(a))
        h.update(array_digest(b))
        return h.hexdigest()

    def path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / self.backend / key[:2] / f"{key}.npy"

    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.root is None:
            self.misses += 1
            return compute_flow(a, b, self.backend)
        path = self.path(self.key(a, b))
        if path.is_file():
            try:
                flow = np.load(path, allow_pickle=False)
                if flow.shape == (*a.shape[:2], 2) and flow.dtype == np.float32:
                    self.hits += 1
                    return flow
            except (OSError, ValueError):
                pass  # unreadable entry: recompute and overwrite below
        self.misses += 1
        flow = compute_flow(a, b, self.backend)
        try:
            with atomic_path(path) as tmp, tmp.open("wb") as f:
                np.save(f, flow, allow_pickle=False)
        except DiskFullError as exc:        # a cache: the flow is right either way, only not kept
            if not self.disk_full_warned:
                self.disk_full_warned = True
                print(f"warning: flow cache: {exc} (flows are computed but not cached until then)", file=sys.stderr)
        return flow

    __call__ = flow
