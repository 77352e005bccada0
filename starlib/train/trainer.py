"""Training a run: :func:`train` trains, resumes or reuses the run its configs name.

The parts: what a run is (:mod:`starlib.train.run`: :class:`TrainConfig`, :func:`run_id`), its folder
(:mod:`starlib.train.run_folder`: locking, saved state, resume, logs, a full disk) and the loop
(:mod:`starlib.train.loop`). The names below stay importable from here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import torch

from starlib.models import STARConfig
from starlib.util.hardware import tf32_arithmetic
from starlib.util.paths import REPO_ROOT

from .loop import BatchSource, LoopOptions, Placement, TrainingDiverged, Validator, step_batches, train_locked
from .losses import VGGFeatures
from .run import ADAMAX_IMPLEMENTATIONS, COMPILE_BACKENDS, NOT_IN_RUN_NAME, Run, RunResult, TrainConfig, run_id
from .run_folder import (BROKEN_STATE_NAME, LOCK_NAME, PREV_STATE_NAME, TIMING_COLUMNS, RunFolder, RunLocked,
                         run_lock)
from .run_state import STATE_FORMAT, TrainingStateError


def train(model_cfg: STARConfig, cfg: TrainConfig, dataset: BatchSource, data_tag: str,
          runs_dir: str | Path = REPO_ROOT / "runs", device: str | torch.device = "cpu", progress: bool = True,
          stop_after: int | None = None, vgg: VGGFeatures | None = None,
          on_step: Callable[[int, dict], None] | None = None, validator: Validator | None = None,
          validate_every: int = 0) -> RunResult:
    """Train (or resume, or reuse) the run identified by the configs and ``data_tag``.

    ``validator`` (with ``validate_every`` > 0) scores the model before the first step, every
    ``validate_every`` steps and at the end, into ``val.csv``; it consumes no random numbers and leaves the
    model in training mode, so the run is the same with or without it (and has the same name).

    ``dataset`` provides ``batch(step, indices) -> dict`` (see ``RandomCropWindows``). ``stop_after`` ends
    the call after that many steps of this run in total (as if the process were killed after a checkpoint);
    it exists for resume tests and time-boxed sessions. Under ``torch.distributed`` each rank takes every
    world-size-th item of a batch and rank 0 writes the files.
    """
    where = Placement.here(device)
    run = Run.of(model_cfg, cfg, data_tag, runs_dir)
    folder = RunFolder(run.dir)
    if folder.is_finished():
        return folder.reuse(run, device)
    with contextlib.ExitStack() as lock:
        folder.lock(where.rank, where.world, lock)
        if folder.is_finished():  # finished by the process that held the lock
            return folder.reuse(run, device)
        with tf32_arithmetic(allowed=not cfg.strict_fp32):
            options = LoopOptions(progress, stop_after, vgg, on_step, validator, validate_every)
            return train_locked(run, folder, dataset, where, options)


__all__ = ["ADAMAX_IMPLEMENTATIONS", "BROKEN_STATE_NAME", "COMPILE_BACKENDS", "LOCK_NAME", "NOT_IN_RUN_NAME",
           "PREV_STATE_NAME", "STATE_FORMAT", "TIMING_COLUMNS", "RunLocked", "RunResult", "TrainConfig",
           "TrainingDiverged", "TrainingStateError", "Validator", "run_id", "run_lock", "step_batches", "train"]
