"""Fill the flow cache ahead of training and scoring, in parallel over CPU cores.

Training reads every window's flows once when its dataset is built, and scoring computes each test pair's
flows the first time a method sees it: on a GPU machine both leave the GPU idle while one CPU core runs DIS.
:func:`precompute` computes the flows of many windows in worker processes instead, each written into the
cache atomically (:class:`starlib.flow.FlowCache`), so later readers only load them. The result is the same
cache a serial run would fill, entry for entry.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from starlib.util.progress import progress_bar

from starlib.data.images import pad_frame
from starlib.data.samples import load_window
from starlib.data.sources import Window

from starlib.flow import FlowCache


@dataclass(frozen=True)
class FlowJob:
    """The flows one window needs: first <-> last of its ``frames`` ("lr": the LR frames at ``scale``; "hr": the
    HR frames, modcropped to ``scale``), padded as a network of input geometry ``pad`` = (multiple, min_size)
    pads them (:func:`starlib.infer.runner.input_geometry`; scoring computes flows of padded frames), and with
    ``fr_targets`` also those through the middle frame (the FR ground truth; training, unpadded)."""

    window: Window
    scale: int
    frames: str = "lr"
    fr_targets: bool = False
    pad: tuple[int, int] = (1, 1)
    lr_method: str = "pil"

    def __post_init__(self) -> None:
        if self.frames not in ("lr", "hr"):
            raise ValueError(f"FlowJob.frames must be 'lr' or 'hr', got {self.frames!r}")


def run_job(job: FlowJob, root: str, backend: str) -> tuple[int, int]:
    """Compute (or find) the flows of ``job`` in the cache at ``root``: ``(computed, found)``."""
    import cv2

    cv2.setNumThreads(1)                      # one core per worker: the pool is the parallelism
    cache = FlowCache(root, backend)
    stack = load_window(job.window, job.scale, job.lr_method)
    seq = stack.lr if job.frames == "lr" else stack.hr
    first, middle, last = seq[0], seq[len(seq) // 2], seq[-1]
    pa, pb = pad_frame(first, *job.pad), pad_frame(last, *job.pad)
    pairs = [(pa, pb), (pb, pa)]
    if job.fr_targets:
        pairs += [(first, middle), (middle, last), (last, middle), (middle, first)]
    for a, b in pairs:
        cache.flow(a, b)
    return cache.misses, cache.hits


def unique_jobs(jobs: Iterable[FlowJob]) -> list[FlowJob]:
    """``jobs`` without repeats (a window asked for with and without FR targets keeps the larger job)."""
    out: dict[tuple, FlowJob] = {}
    for job in jobs:
        key = (job.window.name, job.window.frames, job.scale, job.frames, job.pad, job.lr_method)
        if key not in out or job.fr_targets:
            out[key] = job
    return list(out.values())


def default_workers() -> int:
    """The CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                    # not on Linux
        return max(1, os.cpu_count() or 1)


def precompute(jobs: Sequence[FlowJob], cache: FlowCache, workers: int = 0,
               progress: bool = True) -> tuple[int, int]:
    """Run ``jobs`` (deduplicated) on ``workers`` processes (0: every core; 1: in this process) into ``cache``:
    ``(flows computed, flows found in the cache)``."""
    if cache.root is None:
        raise ValueError("precompute needs a flow cache on disk (FlowCache(root=...)), not an uncached one")
    jobs = unique_jobs(jobs)
    workers = workers or default_workers()
    root, computed, found = str(Path(cache.root)), 0, 0
    bar = progress_bar(total=len(jobs), desc=f"flows ({cache.backend}, {workers} worker{'s' * (workers > 1)})",
                       unit="window", disable=not progress)
    if workers == 1:
        for job in jobs:
            c, f = run_job(job, root, cache.backend)
            computed, found = computed + c, found + f
            bar.update()
    else:                                     # spawn: no forked copy of a parent holding torch threads or CUDA
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for future in as_completed([pool.submit(run_job, job, root, cache.backend) for job in jobs]):
                c, f = future.result()
                computed, found = computed + c, found + f
                bar.update()
    bar.close()
    return computed, found
