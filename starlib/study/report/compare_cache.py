"""Method outputs of notebook 13's comparison kept on disk, so a sample or output seen once redraws in seconds.

One entry per (profile, method, data set, item, output):
``<root>/<profile>/<method key>/<data set>/<item>.<output>.<digest>.npz`` with the output frame (``output``,
(H, W, 3) uint8) and the wall seconds the method took on the item (``seconds``, all its outputs), and beside it
``....metrics.json``, the frame's metrics against the ground truth once computed (a redraw from disk then runs
no metric: SSIM alone took about 0.4 s per frame of 640x480). The method key is the score cache's
(:mod:`starlib.evaluation.score_cache`: it names the run folders, input mode, tile and flow backend, or a
published network's weight file by its SHA256 prefix). ``digest`` hashes, with the key, the
SHA256 of the ``model.pt`` of every run the key names (so a run retrained under the same name is computed
anew) and the content of the item's frames (so a change of data or crop is too).

Entries are written atomically (:func:`starlib.util.atomic.atomic_path`). An entry that cannot be read, or
whose frame is not the expected shape and type (metrics: not a mapping of each metric to a number), is computed
again with a one-line warning naming the file, and rewritten; a full disk is one warning, the outputs are then
used but not kept (docs/bad_input.md).
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from starlib.data.samples import FrameStack
from starlib.evaluation.score_cache import score_key
from starlib.study.setup.shipped_scores import runs_in_key
from starlib.util.atomic import DiskFullError, atomic_path, atomic_write_text
from starlib.util.hashing import array_digest, current_file_sha256

CACHE_VERSION = "1"   # bump when the meaning of a cached output changes
#: What reading a damaged .npz can raise (cut, random bytes, a missing member, a pickled object).
UNREADABLE = (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


def frames_digest(stack: FrameStack) -> str:
    """Hex SHA256 of every LR and HR frame of ``stack`` (what any method of the comparison can read)."""
    h = hashlib.sha256()
    for frame in [*stack.lr, *stack.hr]:
        h.update(array_digest(frame))
    return h.hexdigest()


class OutputCache:
    """``cache.get_or_compute(key, dataset, stack, output, shape, compute)``: ``(frame, seconds)`` from disk when
    present and sound, else from ``compute()`` (then written). ``runs``: the profile's runs folder, where the
    runs a key names keep their ``model.pt``; ``profile``: the profile's name. ``computed`` counts the calls to
    ``compute``, ``hits`` the entries read."""

    def __init__(self, root: str | Path, profile: str, runs: str | Path | None = None) -> None:
        self.root = Path(root) / profile
        self.profile = profile
        self.runs = Path(runs) if runs is not None else None
        self.hits = 0
        self.computed = 0
        self.disk_full_warned = False
        self._frames: dict[tuple[str, str], str] = {}

    def weights(self, key: str, run_dirs: Iterable[Path] = ()) -> dict[str, str]:
        """Run name -> SHA256 of its ``model.pt`` for each run ``key`` names (found in ``runs``) and each of
        ``run_dirs``; a run without one maps to ``"missing"``."""
        dirs = {Path(d) for d in run_dirs}
        if self.runs is not None:
            dirs |= {self.runs / name for name in runs_in_key(key)}
        found = {}
        for d in sorted(dirs):
            model = d / "model.pt"
            found[d.name] = current_file_sha256(model) if model.is_file() else "missing"
        return found

    def path(self, key: str, dataset: str, stack: FrameStack, output: str, run_dirs: Iterable[Path] = ()) -> Path:
        """Where the entry of ``key`` on ``stack`` (an item of ``dataset``) for ``output`` lives."""
        frames = self._frames.get((dataset, stack.name))
        if frames is None:      # the items' frames do not change while a comparison runs: hashed once each
            frames = self._frames[(dataset, stack.name)] = frames_digest(stack)
        weights = ",".join(f"{run}:{digest}" for run, digest in self.weights(key, run_dirs).items())
        identity = "|".join((f"v{CACHE_VERSION}", self.profile, key, weights, dataset, stack.name, output, frames))
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        return self.root / score_key(key) / score_key(dataset) / f"{score_key(stack.name)}.{output}.{digest}.npz"

    def read(self, path: Path, shape: tuple[int, ...]) -> tuple[np.ndarray, float] | None:
        """The entry at ``path`` when it is there and sound; None when absent; a damaged one warns once and
        reads as absent (the caller computes it again and :meth:`write` replaces it)."""
        if not path.is_file():
            return None
        try:
            entry = np.load(path, allow_pickle=False)
            if not isinstance(entry, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with entry:
                frame, seconds = entry["output"], float(entry["seconds"])
            if frame.shape != tuple(shape) or frame.dtype != np.uint8:
                raise ValueError(f"holds a {frame.dtype} frame of shape {frame.shape}, expected uint8 {tuple(shape)}")
            if not np.isfinite(seconds) or seconds < 0:
                raise ValueError(f"holds {seconds} seconds")
        except UNREADABLE as exc:
            _damaged(path, exc)
            return None
        self.hits += 1
        return frame, seconds

    def write(self, path: Path, frame: np.ndarray, seconds: float) -> None:
        """Write one entry atomically (dropping metrics of an earlier one); on a full disk warn once, keep
        nothing."""
        try:
            metrics_path(path).unlink(missing_ok=True)
            with atomic_path(path) as tmp, tmp.open("wb") as f:
                np.savez_compressed(f, output=np.asarray(frame, np.uint8), seconds=np.float64(seconds))
        except DiskFullError as exc:        # a cache: the output is right either way, only not kept
            self._disk_full(exc)

    def read_metrics(self, path: Path, names: Sequence[str]) -> dict[str, float] | None:
        """The metrics ``names`` kept beside the entry at ``path``; None when absent or some are missing; a
        damaged file warns once and reads as absent (:meth:`write_metrics` replaces it)."""
        found = _kept_metrics(metrics_path(path))
        return {n: found[n] for n in names} if found is not None and all(n in found for n in names) else None

    def write_metrics(self, path: Path, metrics: dict[str, float]) -> None:
        """Keep ``metrics`` (name -> number; NaN allowed) beside the entry at ``path``, when it was kept."""
        if not path.is_file():
            return
        try:
            atomic_write_text(metrics_path(path), json.dumps({k: float(v) for k, v in metrics.items()},
                                                             sort_keys=True))
        except DiskFullError as exc:
            self._disk_full(exc)

    def _disk_full(self, exc: DiskFullError) -> None:
        if not self.disk_full_warned:
            self.disk_full_warned = True
            print(f"warning: output cache: {exc} (outputs are computed but not kept until then)", file=sys.stderr)

    def get_or_compute(self, key: str, dataset: str, stack: FrameStack, output: str, shape: tuple[int, ...],
                       compute: Callable[[], tuple[np.ndarray, float]],
                       run_dirs: Iterable[Path] = ()) -> tuple[np.ndarray, float, Path]:
        """``(frame, seconds, entry path)`` of the method ``key`` on ``stack`` for ``output``: from disk, else
        ``compute()`` (which returns the frame and seconds; checked against ``shape``) and then kept."""
        path = self.path(key, dataset, stack, output, run_dirs)
        found = self.read(path, shape)
        if found is not None:
            return (*found, path)
        self.computed += 1
        frame, seconds = compute()
        if frame.shape == tuple(shape) and frame.dtype == np.uint8:
            self.write(path, frame, seconds)
        return frame, seconds, path


def metrics_path(entry: Path) -> Path:
    """Where the metrics of the entry ``entry`` are kept: beside it, ``<entry>.metrics.json``."""
    return entry.with_name(entry.name + ".metrics.json")


def _kept_metrics(side: Path) -> dict[str, float] | None:
    """Metric name -> value from a metrics file; None when absent or damaged (with the warning)."""
    if not side.is_file():
        return None
    try:
        found = json.loads(side.read_bytes().decode("utf-8"))
        if not isinstance(found, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in found.values()):
            raise ValueError("not a mapping of metrics to numbers")
    except (OSError, ValueError) as exc:        # JSONDecodeError and UnicodeDecodeError are ValueErrors
        _damaged(side, exc)
        return None
    return {k: float(v) for k, v in found.items()}


def _damaged(path: Path, exc: BaseException) -> None:
    reason = (str(exc).splitlines() or [type(exc).__name__])[0][:120] or type(exc).__name__
    print(f"warning: output cache {path} is damaged ({reason}); computed again and rewritten", file=sys.stderr)
