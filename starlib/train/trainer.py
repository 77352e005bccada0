"""Training loop: Adamax with a step schedule, atomic resumable checkpoints, CSV log, optional DDP.

A run lives in ``runs/<objective>-<hash>/`` where the hash covers the model and training configs, so a
notebook that needs a trained model reuses a finished run instead of training again:

    config.json   both configs (and the data description)
    log.csv       one row per logged step: losses, learning rate, seconds per step
    state.pt      full training state (model, optimiser, scheduler, step), rewritten atomically
    model.pt      the final model (``starlib.models.save_checkpoint`` format) once the run is done

Resuming is exact on CPU: batch contents are a pure function of ``(seed, step, item)``, and the model,
optimiser and scheduler states are restored, so a resumed run logs the same losses as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from starlib.util.hardware import warn_if_slow_bf16
from starlib.models import STARConfig, STARnet, load_checkpoint, save_checkpoint
from starlib.models.checkpoint import atomic_torch_save, load_state_dict_strict
from starlib.util.atomic import atomic_write_text
from starlib.util.paths import REPO_ROOT
from starlib.util.provenance import git_commit
from starlib.util.config import sparse_asdict
from starlib.util.seed import seed_everything

from starlib.paper.objectives import OBJECTIVES

from .losses import LossWeights, STARLoss, VGGFeatures

STATE_FORMAT = "starlib-train-state/1"


@dataclass(frozen=True)
class TrainConfig:
    """Everything about optimisation; the network itself is a :class:`STARConfig`."""

    objective: str = "STAR"              # STAR | STAR-ST | STAR-S | STAR-T_LR | STAR-T_HR
    steps: int = 1000                    # optimiser steps
    batch_size: int = 4
    patch: int = 32                      # LR patch size in px (HR patch = scale * patch); 0 = full frames
    lr: float = 1e-4                     # Adamax, as the authors
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    lr_milestones: tuple[float, ...] = (1 / 3, 2 / 3)  # fractions of `steps` where lr /= 10 (code: thirds)
    lr_gamma: float = 0.1
    perceptual_weight: float = 0.0       # 0 = L_r, 0.1 = L_f
    flow_weight: float = 0.1             # flow-refinement loss weight (only with FR)
    seed: int = 123                      # the authors' seed
    checkpoint_every: int = 100
    log_every: int = 10
    init_from: str = ""                  # where to start: the name of a finished run in the same runs folder
                                         # (finetunes start from their parent's run), or a checkpoint file
    inputs: str = "lr"                   # "hr" for STAR-T_HR (HR frames in)
    channels_last: bool = False
    bf16: bool = False                   # bfloat16 autocast (CPU or GPU)
    micro_batch: int = 0                 # items per forward/backward, gradients accumulated over the batch
                                         # (0 = the whole batch at once; 1 = the authors' DataParallel batch
                                         # of 1 per GPU, BatchNorm statistics included, on one device)
    vgg_weights: str = ""                # path to VGG19 weights ("" = $STARLIB_VGG19 or the torch cache)

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"TrainConfig.objective={self.objective!r} is not one of {sorted(OBJECTIVES)}")
        if self.inputs not in ("lr", "hr"):
            raise ValueError(f"TrainConfig.inputs must be 'lr' or 'hr', got {self.inputs!r}")
        if OBJECTIVES[self.objective].inputs != self.inputs:
            raise ValueError(f"{self.objective} trains on {OBJECTIVES[self.objective].inputs.upper()} inputs "
                             f"(inputs={OBJECTIVES[self.objective].inputs!r}), not {self.inputs!r}")
        if self.micro_batch < 0:
            raise ValueError(f"TrainConfig.micro_batch must be >= 0 (0 = whole batch), got {self.micro_batch}")
        for name in ("steps", "batch_size", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.patch < 0:
            raise ValueError(f"TrainConfig.patch must be >= 0 (0 = full frames), got {self.patch}")
        if not all(0 < m < 1 for m in self.lr_milestones):
            raise ValueError(f"lr_milestones are fractions of the run in (0, 1), got {self.lr_milestones}")

    def to_dict(self) -> dict[str, Any]:
        """The fields that differ from the defaults (:func:`starlib.util.config.sparse_asdict`)."""
        return sparse_asdict(self)

    @property
    def init_is_run(self) -> bool:
        """``init_from`` names a run (a folder name), not a file path."""
        return bool(self.init_from) and not any(c in self.init_from for c in "/\\") \
            and not self.init_from.endswith((".pt", ".pth"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        data["betas"] = tuple(data.get("betas", cls.betas))
        data["lr_milestones"] = tuple(data.get("lr_milestones", cls.lr_milestones))
        return cls(**data)


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN/inf; the last checkpoint on disk is still the last good state."""


@dataclass
class RunResult:
    model: STARnet
    run_dir: Path
    log: list[dict] = field(default_factory=list)
    reused: bool = False
    wall_time_s: float = 0.0


def _file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run_id(model_cfg: STARConfig, train_cfg: TrainConfig, data_tag: str) -> str:
    """``<objective>-<hash>``: the hash covers the fields of both configs that differ from their defaults and
    the data tag. A parent run enters by its name; a checkpoint file by its content (never by its path), so the
    same run has the same name from any working directory."""
    train = train_cfg.to_dict()
    if train_cfg.init_from and not train_cfg.init_is_run:
        if not Path(train_cfg.init_from).is_file():
            raise FileNotFoundError(f"TrainConfig.init_from={train_cfg.init_from!r} is neither a run name nor an "
                                    f"existing checkpoint file")
        train["init_from"] = "sha256:" + _file_digest(train_cfg.init_from)
    blob = json.dumps({"model": model_cfg.to_dict(), "train": train, "data": data_tag}, sort_keys=True).encode()
    return f"{train_cfg.objective}-{hashlib.sha256(blob).hexdigest()[:10]}"


#: Fields that run names of format 1 (before December 2026) left out at their default; every other field was
#: hashed. Kept only to find and rename such runs (:func:`legacy_run_id`).
_LEGACY_OMITTED = {"model": ("net_s_only",), "train": ("micro_batch",)}


def legacy_run_id(model_cfg: STARConfig, train_cfg: TrainConfig, data_tag: str) -> str:
    """The name format-1 code gave this run (all fields hashed, finetunes by their parent's path string)."""
    parts = {}
    for key, cfg in (("model", model_cfg), ("train", train_cfg)):
        d = dataclasses.asdict(cfg)
        for name in _LEGACY_OMITTED[key]:
            if d[name] == getattr(type(cfg), name):
                del d[name]
        parts[key] = {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
    blob = json.dumps({**parts, "data": data_tag}, sort_keys=True).encode()
    return f"{train_cfg.objective}-{hashlib.sha256(blob).hexdigest()[:10]}"


def _adopt_legacy_run(runs_dir: Path, run_dir: Path, model_cfg: STARConfig, cfg: TrainConfig, data_tag: str) -> None:
    """Rename a run folder named by the format-1 rule to its current name (runs started from scratch only: a
    finetune's old name hashed a path string that cannot be recovered)."""
    if run_dir.exists() or cfg.init_from:
        return
    old = runs_dir / legacy_run_id(model_cfg, cfg, data_tag)
    if old.is_dir() and old != run_dir:
        os.replace(old, run_dir)
        print(f"renamed run {old.name} -> {run_dir.name} (run names now hash only non-default settings)")


def _milestones(cfg: TrainConfig) -> list[int]:
    return sorted({max(1, round(m * cfg.steps)) for m in cfg.lr_milestones})


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _Log:
    """Append-only CSV log that drops rows past ``keep_until`` on resume."""

    def __init__(self, path: Path, keep_until: int, enabled: bool) -> None:
        self.path, self.enabled, self.fields = path, enabled, None
        self.rows: list[dict] = []
        if path.is_file():
            with path.open() as f:
                self.rows = [r for r in csv.DictReader(f) if int(r["step"]) <= keep_until]
            if enabled:
                self._rewrite()

    def _rewrite(self) -> None:
        if not self.rows:
            self.path.unlink(missing_ok=True)
            return
        fields = list(self.rows[0])
        lines = [",".join(fields)] + [",".join(str(r.get(k, "")) for k in fields) for r in self.rows]
        atomic_write_text(self.path, "\n".join(lines) + "\n")

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if not self.enabled:
            return
        new_file = not self.path.is_file()
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)


def _forward_backward(net: torch.nn.Module, loss_fn: STARLoss, batch: dict[str, torch.Tensor], cfg: TrainConfig,
                      model_cfg: STARConfig, device: str | torch.device, scale: float) -> dict[str, float]:
    """Forward one (micro-)batch, backpropagate ``scale`` x its loss (gradients accumulate); returns the parts."""
    batch = {k: v.to(device) for k, v in batch.items()}
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


def train(model_cfg: STARConfig, cfg: TrainConfig, dataset: Any, data_tag: str,
          runs_dir: str | Path = REPO_ROOT / "runs", device: str | torch.device = "cpu", progress: bool = True,
          stop_after: int | None = None, vgg: VGGFeatures | None = None,
          on_step: Callable[[int, dict], None] | None = None) -> RunResult:
    """Train (or resume, or reuse) the run identified by the configs and ``data_tag``.

    ``dataset`` provides ``batch(step, indices) -> dict`` (see ``RandomCropWindows``). ``stop_after`` ends
    the call after that many steps of this run in total (as if the process were killed after a checkpoint);
    it exists for resume tests and time-boxed sessions. Under ``torch.distributed`` each rank takes every
    world-size-th item of a batch and rank 0 writes the files.
    """
    rank, world = _world()
    run_dir = Path(runs_dir) / run_id(model_cfg, cfg, data_tag)
    if rank == 0:
        _adopt_legacy_run(Path(runs_dir), run_dir, model_cfg, cfg, data_tag)
    if world > 1:
        dist.barrier()
    final_path, state_path, log_path = run_dir / "model.pt", run_dir / "state.pt", run_dir / "log.csv"
    if final_path.is_file():
        model, extra = load_checkpoint(final_path, expected=model_cfg)
        log = _Log(log_path, cfg.steps, enabled=False).rows
        return RunResult(model.to(device), run_dir, log, reused=True, wall_time_s=float(extra.get("train_seconds", 0)))
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.json", json.dumps(
            {"model": model_cfg.to_dict(), "train": cfg.to_dict(), "data": data_tag, "git_commit": git_commit()},
            indent=2))

    seed_everything(cfg.seed)
    model = STARnet(model_cfg)
    if cfg.init_from:
        init_path = Path(runs_dir) / cfg.init_from / "model.pt" if cfg.init_is_run else Path(cfg.init_from)
        if not init_path.is_file():
            raise FileNotFoundError(f"{run_dir.name} starts from {init_path}, which does not exist: train the "
                                    f"parent run {cfg.init_from!r} first (recipes do this for finetunes)")
        init, _ = load_checkpoint(init_path)
        if init.cfg != model_cfg:
            diffs = "; ".join(f"{k}: init={a!r}, run={b!r}" for k, (a, b) in init.cfg.diff(model_cfg).items())
            raise ValueError(f"init_from {cfg.init_from} holds another network ({diffs})")
        model.load_state_dict(init.state_dict())
    model.to(device)
    if cfg.bf16:
        warn_if_slow_bf16(device, "TrainConfig.bf16")
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adamax(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, _milestones(cfg), cfg.lr_gamma)
    step, seconds_before = 0, 0.0
    if state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"{state_path} is not a starlib training state; delete it to restart the run")
        load_state_dict_strict(model, state["model"], source=str(state_path))
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, seconds_before = int(state["step"]), float(state.get("train_seconds", 0.0))
    train_model: torch.nn.Module = model
    if world > 1:
        # unused parameters exist: RBPN's res_feat3, and whole branches under the S or T objectives
        train_model = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)

    weights = LossWeights(cfg.perceptual_weight, cfg.flow_weight if model_cfg.flow_refine else 0.0)
    if weights.perceptual > 0 and vgg is None:
        vgg = VGGFeatures(cfg.vgg_weights or None)
    loss_fn = STARLoss(cfg.objective, weights, vgg.to(device) if vgg is not None else None)
    log = _Log(log_path, step, enabled=rank == 0)
    end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    bar = tqdm(total=cfg.steps, initial=step, desc=run_dir.name, disable=not progress or rank != 0)
    start_wall = time.perf_counter()
    model.train()
    mine = list(range(rank, cfg.batch_size, world))          # this rank's items of every batch
    if not mine:
        raise ValueError(f"batch_size {cfg.batch_size} is smaller than the {world} processes: rank {rank} gets nothing")
    chunk = cfg.micro_batch or len(mine)
    while step < end:
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        parts: dict[str, float] = {}
        for c0 in range(0, len(mine), chunk):
            indices = mine[c0:c0 + chunk]
            frac = len(indices) / len(mine)                   # the loss is the mean over this rank's items
            last = c0 + chunk >= len(mine)
            sync = contextlib.nullcontext() if last or world == 1 else train_model.no_sync()
            with sync:
                chunk_parts = _forward_backward(train_model, loss_fn, dataset.batch(step, indices), cfg,
                                                model_cfg, device, frac)
            if not math.isfinite(chunk_parts["total"]):
                raise TrainingDiverged(f"{run_dir.name}: loss became {chunk_parts['total']} at step {step + 1} "
                                       f"({chunk_parts}); the last good state is {state_path}")
            for k, v in chunk_parts.items():
                parts[k] = parts.get(k, 0.0) + frac * v
        # one device sync per step (a float() per parameter costs hundreds of syncs on a GPU)
        grads = [p.grad.detach().float().pow(2).sum() for p in model.parameters() if p.grad is not None]
        grad_sq = float(torch.stack(grads).sum()) if grads else 0.0
        if not math.isfinite(grad_sq):
            raise TrainingDiverged(f"{run_dir.name}: gradient norm became {grad_sq} at step {step + 1}; "
                                   f"the last good state is {state_path}")
        optimizer.step()
        scheduler.step()
        step += 1
        if world > 1:  # average the logged parts over ranks
            vals = torch.tensor([parts[k] for k in sorted(parts)], dtype=torch.float64)
            dist.all_reduce(vals)
            parts = dict(zip(sorted(parts), (vals / world).tolist()))
        seconds = time.perf_counter() - t0
        bar.update(1)
        bar.set_postfix(loss=f"{parts['total']:.4f}", s_per_step=f"{seconds:.2f}")
        if step % cfg.log_every == 0 or step == end:
            log.add({"step": step, "lr": optimizer.param_groups[0]["lr"], "seconds_per_step": round(seconds, 4),
                     "grad_norm": math.sqrt(grad_sq), **parts})
        if on_step is not None:
            on_step(step, parts)
        if rank == 0 and (step % cfg.checkpoint_every == 0 or step == end):
            atomic_torch_save({"format": STATE_FORMAT, "step": step, "model": model.state_dict(),
                               "train_seconds": seconds_before + time.perf_counter() - start_wall,
                               "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, state_path)
    bar.close()
    total_seconds = seconds_before + time.perf_counter() - start_wall
    if rank == 0 and step >= cfg.steps:
        save_checkpoint(model, final_path, extra={"steps": step, "objective": cfg.objective, "data": data_tag,
                                                  "git_commit": git_commit(), "train_seconds": total_seconds})
    if world > 1:
        dist.barrier()
    return RunResult(model, run_dir, log.rows, wall_time_s=total_seconds)
