"""The training loop: Adamax with a step schedule over a run's batches, checkpointed into its folder.

:func:`train_locked` reads like a short training script: build the network, optimiser and schedule (or resume
them from the run's folder), then step, log, validate and checkpoint until the run is done. What a run is lives
in :mod:`starlib.train.run`, its folder in :mod:`starlib.train.run_folder`.

Resuming is exact on CPU: batch contents are a pure function of ``(seed, step, item)``, and the model,
optimiser and scheduler states are restored, so a resumed run logs the same losses as an uninterrupted one.
Under ``torch.distributed`` each rank takes every world-size-th item of a batch and rank 0 writes the files.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.distributed as dist
from torch.optim.lr_scheduler import LRScheduler

from starlib.models import STARConfig, STARnet
from starlib.util.config import ConfigError
from starlib.util.hardware import warn_if_slow_bf16
from starlib.util.progress import progress_bar
from starlib.util.seed import seed_everything

from .init import initialise
from .losses import LossWeights, STARLoss, VGGFeatures
from .run import ADAMAX_IMPLEMENTATIONS, Run, RunResult, TrainConfig
from .run_folder import RunFolder, RunLog


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN/inf; the last checkpoint on disk is still the last good state."""


class BatchSource(Protocol):
    """What a run trains on: the batch of a step for some of its items, a pure function of ``(step, indices)``
    (e.g. :class:`starlib.data.RandomCropWindows`)."""

    def batch(self, step: int, indices: list[int]) -> dict[str, torch.Tensor]: ...


#: A validator maps the model being trained (in eval mode, under no_grad) to rows of scores.
Validator = Callable[[STARnet], list[dict]]


@dataclass(frozen=True)
class Placement:
    """Where this process trains: its device, and its rank among ``world`` torch.distributed processes."""

    device: str | torch.device = "cpu"
    rank: int = 0
    world: int = 1

    @classmethod
    def here(cls, device: str | torch.device) -> Placement:
        """This process: its rank and world size under torch.distributed, else rank 0 of 1."""
        if dist.is_available() and dist.is_initialized():
            return cls(device, dist.get_rank(), dist.get_world_size())
        return cls(device)

    @property
    def writes(self) -> bool:
        """This process writes the run's files (rank 0)."""
        return self.rank == 0


@dataclass(frozen=True)
class LoopOptions:
    """What a caller adds to a run without changing it: a progress bar, an early stop (``stop_after`` steps of
    the run in total, as if killed after a checkpoint), a VGG network to share, a per-step callback, and a
    validator scoring the model before the first step, every ``validate_every`` steps and at the end."""

    progress: bool = True
    stop_after: int | None = None
    vgg: VGGFeatures | None = None
    on_step: Callable[[int, dict], None] | None = None
    validator: Validator | None = None
    validate_every: int = 0


@dataclass
class _Network:
    """The network in training: the plain model (what checkpoints hold), the module that runs forward/backward
    (wrapped by DDP and/or torch.compile), the optimiser and the learning-rate schedule."""

    model: STARnet
    forward: torch.nn.Module
    ddp: torch.nn.parallel.DistributedDataParallel | None
    optimizer: torch.optim.Optimizer
    scheduler: LRScheduler

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]


class _StepBatches(torch.utils.data.Dataset):
    """Map-style view for a DataLoader: item i is the batch of step ``start + i`` for this rank's items, what
    the training loop would otherwise build itself (``dataset.batch``), so the two paths train the same."""

    def __init__(self, dataset: BatchSource, start: int, end: int, indices: list[int]) -> None:
        self.dataset, self.start, self.end, self.indices = dataset, start, end, indices

    def __len__(self) -> int:
        return max(0, self.end - self.start)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.dataset.batch(self.start + i, self.indices)


def step_batches(dataset: BatchSource, start: int, end: int, indices: list[int], workers: int,
                 pin_memory: bool = False) -> Iterator[dict[str, torch.Tensor]]:
    """The batches of steps ``start .. end - 1`` (this rank's ``indices``), prepared by ``workers`` DataLoader
    processes ahead of the training loop (two batches each)."""
    loader = torch.utils.data.DataLoader(_StepBatches(dataset, start, end, indices), batch_size=None,
                                         shuffle=False, num_workers=workers, pin_memory=pin_memory,
                                         prefetch_factor=2 if workers else None)
    return iter(loader)


class _Batches:
    """This rank's items of every batch, in micro-batches of ``TrainConfig.micro_batch``; built on demand
    (``dataset.batch``) or prepared ahead by DataLoader workers (``TrainConfig.loader_workers``)."""

    def __init__(self, dataset: BatchSource, cfg: TrainConfig, where: Placement, start: int, end: int) -> None:
        self.dataset = dataset
        self.mine = list(range(where.rank, cfg.batch_size, where.world))
        if not self.mine:
            raise ConfigError(f"batch_size {cfg.batch_size} is smaller than the {where.world} processes: rank "
                              f"{where.rank} gets nothing")
        self.chunk = cfg.micro_batch or len(self.mine)
        self.ahead = (step_batches(dataset, start, end, self.mine, cfg.loader_workers,
                                   torch.device(where.device).type == "cuda") if cfg.loader_workers else None)

    def of_step(self, step: int) -> Iterator[tuple[dict[str, torch.Tensor], float, bool, float]]:
        """The micro-batches of ``step``: ``(batch, its share of the rank's items, is it the last, seconds spent
        waiting for it)``."""
        t0 = time.perf_counter()
        whole = next(self.ahead) if self.ahead is not None else None
        for c0 in range(0, len(self.mine), self.chunk):
            indices = self.mine[c0:c0 + self.chunk]
            batch = ({k: v[c0:c0 + len(indices)] for k, v in whole.items()} if whole is not None
                     else self.dataset.batch(step, indices))
            waited = time.perf_counter() - t0
            yield batch, len(indices) / len(self.mine), c0 + self.chunk >= len(self.mine), waited
            t0 = time.perf_counter()


def _build(run: Run, folder: RunFolder, where: Placement) -> tuple[_Network, int, float]:
    """The seeded network (initialised as the run says, or from its saved state), Adamax and its schedule, at
    the step the run's folder resumes from: ``(network, step, seconds trained before)``."""
    cfg = run.train
    seed_everything(cfg.seed)
    model = STARnet(run.model)
    if not folder.has_state():     # a resumed run takes its weights from its state
        initialise(model, cfg, run.runs_dir)
    model.to(where.device)
    if cfg.bf16:
        warn_if_slow_bf16(where.device, "TrainConfig.bf16")
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adamax(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps,
                                   foreach=ADAMAX_IMPLEMENTATIONS[cfg.adamax])
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, cfg.milestone_steps, cfg.lr_gamma)
    step, seconds_before = folder.resume(cfg, model, optimizer, scheduler, where.rank)
    forward: torch.nn.Module = model
    ddp = None
    if where.world > 1:
        # unused parameters exist: RBPN's res_feat3, and whole branches under the S or T objectives
        forward = ddp = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    if cfg.compile:   # checkpoints keep the plain model's state dict (no "_orig_mod." keys)
        forward = torch.compile(forward, backend=cfg.compile)
    return _Network(model, forward, ddp, optimizer, scheduler), step, seconds_before


def _loss(run: Run, where: Placement, vgg: VGGFeatures | None) -> STARLoss:
    """The run's objective with its loss weights (the flow term only for a network with FR)."""
    cfg = run.train
    weights = LossWeights(cfg.perceptual_weight, cfg.flow_weight if run.model.flow_refine else 0.0)
    if weights.perceptual > 0 and vgg is None:
        vgg = VGGFeatures(cfg.vgg_weights or None)
    return STARLoss(cfg.objective, weights, vgg.to(where.device) if vgg is not None else None)


def _forward_backward(net: torch.nn.Module, loss_fn: STARLoss, batch: dict[str, torch.Tensor], cfg: TrainConfig,
                      model_cfg: STARConfig, device: str | torch.device, scale: float) -> dict[str, float]:
    """Forward one (micro-)batch, backpropagate ``scale`` x its loss (gradients accumulate); returns the parts."""
    batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    targets = None
    if cfg.inputs == "hr":  # STAR-T_HR: HR frames in, HR middle frame out of the "LR" branch
        lr_t, lr_t1 = batch["hr"][:, 0], batch["hr"][:, -1]                    # (b, 3, H, W)
        targets = {"lr_mid": batch["hr"][:, batch["hr"].shape[1] // 2]}
    else:
        lr_t, lr_t1 = batch["lr"][:, 0], batch["lr"][:, -1]                    # (b, 3, h, w)
    flows = (batch["flow_fwd"], batch["flow_bwd"]) if model_cfg.use_flow else (None, None)
    if cfg.channels_last:
        lr_t, lr_t1 = (x.contiguous(memory_format=torch.channels_last) for x in (lr_t, lr_t1))
    with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=cfg.bf16):
        out = net(lr_t, lr_t1, *flows)
        loss, parts = loss_fn({k: v.float() for k, v in out.items()}, batch, targets)
    if math.isfinite(parts["total"]):
        (loss * scale if scale != 1 else loss).backward()
    return parts


def _step(net: _Network, loss_fn: STARLoss, batches: _Batches, step: int, run: Run, folder: RunFolder,
          where: Placement) -> tuple[dict[str, float], float, float]:
    """One optimiser step over this rank's items of batch ``step``: ``(loss parts averaged over the ranks,
    squared gradient norm, seconds spent waiting for data)``; :class:`TrainingDiverged` on a NaN/inf."""
    last_good = f"the last good state is {folder.state_path}"
    net.optimizer.zero_grad(set_to_none=True)
    parts: dict[str, float] = {}
    data_seconds = 0.0                                        # waiting for data: the device's idle share
    for batch, share, last, waited in batches.of_step(step):  # the loss is the mean over this rank's items
        data_seconds += waited
        with contextlib.nullcontext() if last or net.ddp is None else net.ddp.no_sync():
            chunk = _forward_backward(net.forward, loss_fn, batch, run.train, run.model, where.device, share)
        if not math.isfinite(chunk["total"]):
            raise TrainingDiverged(f"{folder.name}: loss became {chunk['total']} at step {step + 1} ({chunk}); "
                                   f"{last_good}")
        for k, v in chunk.items():
            parts[k] = parts.get(k, 0.0) + share * v
    # one device sync per step (a float() per parameter costs hundreds of syncs on a GPU)
    grads = [p.grad.detach().float().pow(2).sum() for p in net.model.parameters() if p.grad is not None]
    grad_sq = float(torch.stack(grads).sum()) if grads else 0.0
    if not math.isfinite(grad_sq):
        raise TrainingDiverged(f"{folder.name}: gradient norm became {grad_sq} at step {step + 1}; {last_good}")
    net.optimizer.step()
    net.scheduler.step()
    if where.world > 1:  # average the logged parts over ranks
        values = torch.tensor([parts[k] for k in sorted(parts)], dtype=torch.float64)
        dist.all_reduce(values)
        parts = dict(zip(sorted(parts), (values / where.world).tolist()))
    return parts, grad_sq, data_seconds


class _Validation:
    """Scores of the model in training into ``val.csv`` (rank 0, with a validator): observation only, it
    consumes no random numbers and leaves the model in training mode."""

    def __init__(self, folder: RunFolder, step: int, where: Placement, options: LoopOptions) -> None:
        self.validator, self.every = options.validator, options.validate_every
        self.on = self.validator is not None and self.every > 0 and where.writes
        self.log = folder.val_log(step if step else -1, enabled=self.on)

    def __call__(self, model: STARnet, step: int, steps: int) -> None:
        """Validate at step 0, every ``validate_every`` steps and at the last step of the run."""
        if not self.on or not (step == 0 or step % self.every == 0 or step == steps):
            return
        model.eval()
        with torch.no_grad():
            for row in self.validator(model):
                self.log.add({"step": step, **row})
        model.train()


def train_locked(run: Run, folder: RunFolder, dataset: BatchSource, where: Placement,
                 options: LoopOptions) -> RunResult:
    """Train ``run`` (in ``folder``) from where it stands to its last step, or to ``options.stop_after``, once
    this process holds the run (rank 0 holds its lock). ``dataset`` provides ``batch(step, indices) -> dict``."""
    cfg = run.train
    if where.writes:
        folder.write_config(run)
    net, step, seconds_before = _build(run, folder, where)
    loss_fn = _loss(run, where, options.vgg)
    log: RunLog = folder.log(step, enabled=where.writes)
    validate = _Validation(folder, step, where, options)
    if step == 0:
        validate(net.model, step, cfg.steps)
    end = cfg.steps if options.stop_after is None else min(cfg.steps, options.stop_after)
    bar = progress_bar(total=cfg.steps, initial=step, desc=folder.name,
                       disable=not options.progress or not where.writes)
    start_wall = time.perf_counter()
    net.model.train()
    batches = _Batches(dataset, cfg, where, step, end)
    while step < end:
        t0 = time.perf_counter()
        parts, grad_sq, data_seconds = _step(net, loss_fn, batches, step, run, folder, where)
        step += 1
        seconds = time.perf_counter() - t0
        bar.update(1)
        bar.set_postfix(loss=f"{parts['total']:.4f}", s_per_step=f"{seconds:.2f}")
        if step % cfg.log_every == 0 or step == end:
            log.add({"step": step, "lr": net.lr, "seconds_per_step": round(seconds, 4),
                     "data_seconds": round(data_seconds, 4), "grad_norm": math.sqrt(grad_sq), **parts})
        if options.on_step is not None:
            options.on_step(step, parts)
        validate(net.model, step, cfg.steps)
        if where.writes and (step % cfg.checkpoint_every == 0 or step == end):
            folder.save_state(step, net.model, net.optimizer, net.scheduler,
                              seconds_before + time.perf_counter() - start_wall)
    bar.close()
    total_seconds = seconds_before + time.perf_counter() - start_wall
    if where.writes and step >= cfg.steps:
        folder.finish(run, net.model, step, total_seconds)
    if where.world > 1:
        dist.barrier()
    return RunResult(net.model, folder.path, log.rows, wall_time_s=total_seconds, val=validate.log.rows)
