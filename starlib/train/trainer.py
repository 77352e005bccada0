"""Training loop: Adamax with a step schedule, atomic resumable checkpoints, CSV log, optional DDP.

A run lives in ``runs/<objective>-<hash>/`` where the hash covers the model and training configs, so a
notebook that needs a trained model reuses a finished run instead of training again:

    config.json     both configs (and the data description)
    log.csv         one row per logged step: losses, learning rate, seconds per step and of it the seconds spent
                    waiting for the batch (``data_seconds``: the device's idle share on a GPU)
    val.csv         validation scores every ``validate_every`` steps (when a validator is given), e.g. PSNR per
                    output next to its baseline; observation only: it changes neither the weights nor the name
    state.pt        full training state (model, optimiser, scheduler, step), rewritten atomically
    state.prev.pt   the state before the last rewrite: resumed from (with a warning) when state.pt is unreadable
    model.pt        the final model (``starlib.models.save_checkpoint`` format) once the run is done
    .lock           held (``flock``) by the process training the run; names its pid and host

Resuming is exact on CPU: batch contents are a pure function of ``(seed, step, item)``, and the model,
optimiser and scheduler states are restored, so a resumed run logs the same losses as an uninterrupted one.
One process trains a run at a time: a second one is refused (:class:`RunLocked`) naming the holder; the lock
goes with the process that held it (killed included), so a stale lock file never blocks.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import json
import math
import os
import shutil
import socket
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.distributed as dist
from starlib.util.progress import progress_bar

from starlib.util.hardware import tf32_arithmetic, warn_if_slow_bf16
from starlib.models import STARConfig, STARnet, load_checkpoint, save_checkpoint
from starlib.models.checkpoint import (CheckpointError, atomic_torch_save, check_finite, check_fits,
                                       check_state_dict_layout, load_state_dict_strict, torch_load_untrusted)
from starlib.util.config import ConfigError
from starlib.util.atomic import DiskFullError, atomic_write_text, is_disk_full
from starlib.util.paths import REPO_ROOT
from starlib.util.provenance import git_commit
from starlib.util.config import sparse_asdict
from starlib.util.seed import seed_everything

from starlib.paper.objectives import OBJECTIVES, PRETRAINING
from starlib.paper.objectives import objective as objective_record

from .init import PART_FIELDS, initialise, is_run_name
from .losses import LossWeights, STARLoss, VGGFeatures

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked
    fcntl = None  # type: ignore[assignment]

STATE_FORMAT = "starlib-train-state/1"
LOCK_NAME = ".lock"
PREV_STATE_NAME = "state.prev.pt"
BROKEN_STATE_NAME = "state.broken.pt"


#: TrainConfig.adamax values and the ``foreach`` argument of torch.optim.Adamax each stands for.
ADAMAX_IMPLEMENTATIONS: dict[str, bool | None] = {"auto": None, "foreach": True, "loop": False}
#: torch.compile backends TrainConfig.compile accepts (inductor generates kernels; the others only trace).
COMPILE_BACKENDS = ("inductor", "aot_eager", "eager")


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
    init_net_s: str = ""                 # Net_S from a run or file (a Net_S-alone run; rbpn_pretrained_F2_4x.pth)
    init_flow_net: str = ""              # the FR U-Net from a run or file (an FR-alone run; flow_refinement.pth)
    inputs: str = "lr"                   # "hr" for STAR-T_HR (HR frames in)
    channels_last: bool = False
    bf16: bool = False                   # bfloat16 autocast (CPU or GPU)
    micro_batch: int = 0                 # items per forward/backward, gradients accumulated over the batch
                                         # (0 = the whole batch at once; 1 = the authors' DataParallel batch
                                         # of 1 per GPU, BatchNorm statistics included, on one device)
    vgg_weights: str = ""                # path to VGG19 weights ("" = $STARLIB_VGG19 or the torch cache)
    loader_workers: int = 0              # DataLoader worker processes preparing the next batches (pinned memory,
                                         # non-blocking copies on CUDA); 0 = in the training process. Not in the
                                         # run name: the batches are the same either way
    static_items: float = 0.0            # fraction of training items made static (first frame repeated, zero
                                         # flows): the correction learns to vanish where nothing moves. A
                                         # small-budget switch; 0 = off (the paper's data)
    strict_fp32: bool = False            # CUDA: strict IEEE fp32 matmuls and convolutions; off = TensorFloat-32
                                         # tensor cores for both (torch's default is TF32 convolutions only).
                                         # In the run name: the arithmetic differs. No effect on the CPU
    compile: str = ""                    # torch.compile backend for the training forward/backward ("" = eager;
                                         # "inductor" on a GPU). Not in the run name: the same computation
    adamax: str = "auto"                 # Adamax implementation: "foreach" (multi-tensor kernels), "loop" (one
                                         # parameter at a time) or "auto" (torch's choice: foreach on CUDA,
                                         # loop on the CPU). Not in the run name: the same update

    #: What a profile may set (:func:`starlib.util.config.check_numbers`): finite, and no value that can only
    #: end in an absurd allocation or a run that never finishes.
    NUMBER_RANGES: ClassVar[dict[str, tuple[float, float]]] = {
        "steps": (1, 10**8), "batch_size": (1, 1024), "patch": (0, 1024), "lr": (1e-12, 1.0),
        "betas": (0.0, 0.999999), "eps": (1e-20, 1.0), "lr_milestones": (1e-9, 1 - 1e-9), "lr_gamma": (1e-9, 1.0),
        "perceptual_weight": (0.0, 1000.0), "flow_weight": (0.0, 1000.0), "seed": (0, 2**32 - 1),
        "checkpoint_every": (1, 10**8), "log_every": (1, 10**8), "micro_batch": (0, 1024),
        "loader_workers": (0, 256), "static_items": (0.0, 1.0)}

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES and self.objective not in PRETRAINING:
            raise ConfigError(f"TrainConfig.objective={self.objective!r} is not one of "
                              f"{sorted(OBJECTIVES) + sorted(PRETRAINING)}")
        if self.inputs not in ("lr", "hr"):
            raise ConfigError(f"TrainConfig.inputs must be 'lr' or 'hr', got {self.inputs!r}")
        record = objective_record(self.objective)
        if record.inputs != self.inputs:
            raise ConfigError(f"{self.objective} trains on {record.inputs.upper()} inputs "
                              f"(inputs={record.inputs!r}), not {self.inputs!r}")
        if self.adamax not in ADAMAX_IMPLEMENTATIONS:
            raise ConfigError(f"TrainConfig.adamax must be one of {sorted(ADAMAX_IMPLEMENTATIONS)}, got "
                              f"{self.adamax!r}")
        if self.compile and self.compile not in COMPILE_BACKENDS:
            raise ConfigError(f"TrainConfig.compile={self.compile!r} is not a torch.compile backend; use '' (eager) "
                              f"or one of {list(COMPILE_BACKENDS)}")
        if self.loader_workers < 0:
            raise ConfigError(f"TrainConfig.loader_workers must be >= 0, got {self.loader_workers}")
        if self.micro_batch < 0:
            raise ConfigError(f"TrainConfig.micro_batch must be >= 0 (0 = whole batch), got {self.micro_batch}")
        for name in ("steps", "batch_size", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.static_items <= 1.0:
            raise ConfigError(f"TrainConfig.static_items is a fraction in [0, 1], got {self.static_items}")
        if self.patch < 0:
            raise ConfigError(f"TrainConfig.patch must be >= 0 (0 = full frames), got {self.patch}")
        if not all(0 < m < 1 for m in self.lr_milestones):
            raise ConfigError(f"lr_milestones are fractions of the run in (0, 1), got {self.lr_milestones}")

    def to_dict(self) -> dict[str, Any]:
        """The fields that differ from the defaults (:func:`starlib.util.config.sparse_asdict`)."""
        return sparse_asdict(self)

    @property
    def init_is_run(self) -> bool:
        """``init_from`` names a run (a folder name), not a file path."""
        return is_run_name(self.init_from)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(map(str, data)) - known)
        if unknown:
            raise ConfigError(f"unknown TrainConfig fields {unknown}; known fields are {sorted(known)}")
        data = dict(data)
        data["betas"] = tuple(data.get("betas", cls.betas))
        data["lr_milestones"] = tuple(data.get("lr_milestones", cls.lr_milestones))
        return cls(**data)


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN/inf; the last checkpoint on disk is still the last good state."""


class RunLocked(RuntimeError):
    """Another live process is training this run; the message names its pid, host and lock file."""


class TrainingStateError(CheckpointError):
    """A run's ``state.pt`` (and ``state.prev.pt``) cannot be resumed from; the message names the file and the
    fix."""


@dataclass
class RunResult:
    model: STARnet
    run_dir: Path
    log: list[dict] = field(default_factory=list)
    reused: bool = False
    wall_time_s: float = 0.0
    val: list[dict] = field(default_factory=list)   # rows of val.csv (step plus the validator's columns)


#: A validator maps the model being trained (in eval mode, under no_grad) to rows of scores.
Validator = Callable[[STARnet], list[dict]]


#: Columns of log.csv that are wall-clock timings (everything else is a pure function of the run).
TIMING_COLUMNS = ("seconds_per_step", "data_seconds")

#: TrainConfig fields that change how a run is computed, never what: left out of run names.
NOT_IN_RUN_NAME = ("loader_workers", "compile", "adamax")


class _StepBatches(torch.utils.data.Dataset):
    """Map-style view for a DataLoader: item i is the batch of step ``start + i`` for this rank's items, what
    the training loop would otherwise build itself (``dataset.batch``), so the two paths train the same."""

    def __init__(self, dataset: Any, start: int, end: int, indices: list[int]) -> None:
        self.dataset, self.start, self.end, self.indices = dataset, start, end, indices

    def __len__(self) -> int:
        return max(0, self.end - self.start)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.dataset.batch(self.start + i, self.indices)


def step_batches(dataset: Any, start: int, end: int, indices: list[int], workers: int,
                 pin_memory: bool = False) -> Iterator[dict[str, torch.Tensor]]:
    """The batches of steps ``start .. end - 1`` (this rank's ``indices``), prepared by ``workers`` DataLoader
    processes ahead of the training loop (two batches each)."""
    loader = torch.utils.data.DataLoader(_StepBatches(dataset, start, end, indices), batch_size=None,
                                         shuffle=False, num_workers=workers, pin_memory=pin_memory,
                                         prefetch_factor=2 if workers else None)
    return iter(loader)


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
    train = {k: v for k, v in train_cfg.to_dict().items() if k not in NOT_IN_RUN_NAME}
    for name in ("init_from", *PART_FIELDS):
        source = getattr(train_cfg, name)
        if source and not is_run_name(source):
            if not Path(source).is_file():
                raise FileNotFoundError(f"TrainConfig.{name}={source!r} is neither a run name nor an existing "
                                        f"checkpoint file")
            train[name] = "sha256:" + _file_digest(source)
    blob = json.dumps({"model": model_cfg.to_dict(), "train": train, "data": data_tag}, sort_keys=True).encode()
    return f"{train_cfg.objective}-{hashlib.sha256(blob).hexdigest()[:10]}"


def _milestones(cfg: TrainConfig) -> list[int]:
    return sorted({max(1, round(m * cfg.steps)) for m in cfg.lr_milestones})


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _lock_holder(text: str) -> str:
    try:
        info = json.loads(text)
        return f"pid {info['pid']} on host {info['host']} (since {info.get('since', '?')})"
    except (ValueError, KeyError, TypeError):
        return "a process that has not written its pid yet"


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir/.lock`` (an exclusive ``flock``, with the holder's pid, host and start time in the file)
    while the block runs; :class:`RunLocked` naming the holder if another process holds it. The kernel drops
    the lock with the process, however it ends, so a lock file left by a killed process is taken over."""
    path = run_dir / LOCK_NAME
    if fcntl is None:
        yield
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            raise RunLocked(f"run {run_dir.name} is being trained by {holder} (lock file {path}); wait for it to "
                            f"finish (a finished run is reused) or stop that process") from None
        except OSError as exc:  # a file system without flock (some network mounts)
            warnings.warn(f"cannot lock {path} ({exc}); make sure no other process trains {run_dir.name}",
                          RuntimeWarning, stacklevel=3)
            yield
            return
        stale = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        if stale:
            print(f"run {run_dir.name}: taking over the lock of {_lock_holder(stale)}, which ended without "
                  f"releasing it")
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # released cleanly: an empty lock file (a killed holder leaves its pid behind)
    finally:
        os.close(fd)             # closing the descriptor releases the flock


def _locked_by_rank0(run_dir: Path, rank: int, world: int, stack: contextlib.ExitStack) -> None:
    """Rank 0 takes the run's lock; under torch.distributed every rank raises when it could not."""
    error = ""
    if rank == 0:
        try:
            stack.enter_context(run_lock(run_dir))
        except RunLocked as exc:
            error = str(exc)
    if world > 1:
        shared = [error]
        dist.broadcast_object_list(shared, src=0)
        error = shared[0]
    if error:
        raise RunLocked(error)


def _read_state(path: Path, cfg: TrainConfig) -> dict[str, Any]:
    """The training state in ``path`` checked for use (format, entries, finite weights, step range); raises
    :class:`CheckpointError` saying what is wrong with the file."""
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    state = torch_load_untrusted(path, "training state", fix="")
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path} is not a starlib training state")
    missing = [k for k in ("step", "model", "optimizer", "scheduler") if k not in state]
    if missing:
        raise CheckpointError(f"{path} lacks the entries {missing}")
    step, seconds = state["step"], state.get("train_seconds", 0.0)
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= cfg.steps:
        raise CheckpointError(f"{path}: step {step!r} is not a step of this {cfg.steps}-step run")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        raise CheckpointError(f"{path}: train_seconds {seconds!r} is not a number")
    return state


def _check_plain_state(saved: Any, own: dict[str, Any], what: str) -> None:
    """``saved`` (a scheduler state or an optimiser parameter group from a file) must be a dict with string keys
    whose numbers, sequences of numbers and mappings sit where the live object (``own``) has them (other entries,
    flags that differ between torch versions, are left to torch)."""
    if not isinstance(saved, dict) or not all(isinstance(k, str) for k in saved) or "optimizer" in saved:
        raise CheckpointError(f"{what} is not a state dict of this run's kind")

    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    for key in set(saved) & set(own):
        mine, theirs = own[key], saved[key]
        if number(mine):
            ok = number(theirs)
        elif isinstance(mine, (list, tuple)) and mine and all(number(v) for v in mine):
            ok = isinstance(theirs, (list, tuple)) and len(theirs) == len(mine) and all(number(v) for v in theirs)
        elif isinstance(mine, Mapping):
            ok = isinstance(theirs, Mapping)
        else:
            continue
        if not ok:
            raise CheckpointError(f"{what}: {key} = {theirs!r} does not fit (expected something like {mine!r})")


def _apply_state(state: dict[str, Any], path: Path, model: STARnet, optimizer: torch.optim.Optimizer,
                 scheduler: Any) -> None:
    """Load a state read by :func:`_read_state` into the model, optimiser and scheduler (all checked first)."""
    source = str(path)
    check_state_dict_layout(state["model"], source)
    check_fits({k: v.shape for k, v in model.state_dict().items()}, state["model"], source)
    check_finite(state["model"], source)
    opt, sched = state["optimizer"], state["scheduler"]
    if not isinstance(opt, dict) or set(opt) != {"state", "param_groups"} or not isinstance(opt["state"], dict):
        raise CheckpointError(f"{source}: the optimiser state is not an Adamax state dict")
    params = list(model.parameters())
    for index, entry in opt["state"].items():
        if not isinstance(index, int) or not 0 <= index < len(params) or not isinstance(entry, dict):
            raise CheckpointError(f"{source}: optimiser state for parameter {index!r} does not fit the model")
        for name, value in entry.items():
            if not isinstance(value, torch.Tensor) or (value.dim() and value.shape != params[index].shape):
                raise CheckpointError(f"{source}: optimiser {name} of parameter {index} does not fit the model")
        check_finite({f"optimizer.state[{index}].{k}": v for k, v in entry.items()}, source)
    _check_plain_state(sched, scheduler.state_dict(), f"{source}: scheduler state")
    groups = opt["param_groups"]
    if not isinstance(groups, list) or len(groups) != len(optimizer.param_groups):
        raise CheckpointError(f"{source}: the optimiser state has other parameter groups than this run")
    for saved, own in zip(groups, optimizer.state_dict()["param_groups"]):
        _check_plain_state(saved, own, f"{source}: optimiser parameter group")
    load_state_dict_strict(model, state["model"], source=source)
    try:
        optimizer.load_state_dict(opt)
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{source}: the optimiser state does not fit this run: {exc}") from exc
    scheduler.load_state_dict(sched)


class _Log:
    """Append-only CSV log that drops rows past ``keep_until`` on resume."""

    def __init__(self, path: Path, keep_until: int, enabled: bool) -> None:
        self.path, self.enabled, self.fields = path, enabled, None
        self.rows: list[dict] = []
        if path.is_file():
            with path.open(errors="replace", newline="") as f:
                self.rows = [r for r in csv.DictReader(f) if self._step(r) is not None and self._step(r) <= keep_until]
            if enabled:
                self._rewrite()

    @staticmethod
    def _step(row: dict) -> int | None:
        """The step of a complete row; ``None`` for a torn or foreign one (dropped on resume)."""
        if None in row.values():
            return None
        try:
            return int(row["step"])
        except (KeyError, ValueError):
            return None

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
        # a full disk: one line naming the log; a torn last row is dropped on resume (see _step)
        with _disk_full_names(self.path, "the run resumes from its last checkpoint"), \
                self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)


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


def _resume(run_dir: Path, cfg: TrainConfig, model: STARnet, optimizer: torch.optim.Optimizer, scheduler: Any,
            rank: int) -> tuple[int, float]:
    """Load the run's training state into the model, optimiser and scheduler: ``(step, seconds so far)``,
    ``(0, 0.0)`` for a fresh run. An unreadable ``state.pt`` falls back to ``state.prev.pt`` with a warning
    (rank 0 moves the bad file to ``state.broken.pt``); when neither can be used, :class:`TrainingStateError`
    names the files and the fix."""
    state_path, prev_path = run_dir / "state.pt", run_dir / PREV_STATE_NAME
    tried: list[tuple[Path, CheckpointError]] = []
    for path in (state_path, prev_path):
        if not path.is_file():
            continue
        try:
            state = _read_state(path, cfg)
            _apply_state(state, path, model, optimizer, scheduler)
        except CheckpointError as exc:
            tried.append((path, exc))
            continue
        if tried or path == prev_path:
            why = f"{tried[0][1]}" if tried else f"{state_path} is missing"
            moved = ""
            if tried and rank == 0:
                os.replace(state_path, run_dir / BROKEN_STATE_NAME)
                moved = f" (the unreadable file is kept as {BROKEN_STATE_NAME})"
            warnings.warn(f"run {run_dir.name}: {why}; resuming from the previous state {path.name} at step "
                          f"{state['step']}{moved}", RuntimeWarning, stacklevel=3)
        return int(state["step"]), float(state.get("train_seconds", 0.0))
    if not tried:
        return 0, 0.0
    reasons = "; ".join(f"{exc}" for _, exc in tried)
    files = " and ".join(str(p) for p, _ in tried)
    earlier = "" if prev_path.is_file() else f" (there is no earlier state: {PREV_STATE_NAME} is missing)"
    raise TrainingStateError(f"run {run_dir.name} cannot be resumed: {reasons}. Remove {files} to restart the run "
                             f"from step 0{earlier}")


@contextlib.contextmanager
def _disk_full_names(path: Path, action: str) -> Iterator[None]:
    """A full disk inside the block is a :class:`DiskFullError` naming the file (``path`` unless the error names
    its own) and what happens on a rerun (``action``)."""
    try:
        yield
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        raise DiskFullError(getattr(exc, "path", None) or path, action) from exc


def _save_state(payload: dict[str, Any], state_path: Path) -> None:
    """Keep the current ``state.pt`` as ``state.prev.pt`` (a hard link, so ``state.pt`` never goes missing),
    then write the new state atomically. A full disk is a :class:`DiskFullError` naming the file; the last
    state stays, so a rerun resumes from it."""
    resumes = f"run {state_path.parent.name} keeps its last checkpoint and a rerun resumes from it"
    with _disk_full_names(state_path, resumes):
        if state_path.is_file():
            prev = state_path.with_name(PREV_STATE_NAME)
            tmp = state_path.with_name(f".{PREV_STATE_NAME}.{os.getpid()}.tmp")
            tmp.unlink(missing_ok=True)
            try:
                try:
                    os.link(state_path, tmp)
                except OSError:  # no hard links on this file system: copy
                    shutil.copyfile(state_path, tmp)
                os.replace(tmp, prev)
            finally:
                tmp.unlink(missing_ok=True)
        atomic_torch_save(payload, state_path)


def train(model_cfg: STARConfig, cfg: TrainConfig, dataset: Any, data_tag: str,
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
    rank, world = _world()
    run_dir = Path(runs_dir) / run_id(model_cfg, cfg, data_tag)
    final_path = run_dir / "model.pt"
    if final_path.is_file():
        return _reuse(run_dir, model_cfg, cfg, device)
    with contextlib.ExitStack() as lock:
        _locked_by_rank0(run_dir, rank, world, lock)
        if final_path.is_file():  # finished by the process that held the lock
            return _reuse(run_dir, model_cfg, cfg, device)
        with tf32_arithmetic(allowed=not cfg.strict_fp32):
            return _train_locked(model_cfg, cfg, dataset, data_tag, Path(runs_dir), run_dir, device, progress,
                                 stop_after, vgg, on_step, rank, world, validator, validate_every)


def _reuse(run_dir: Path, model_cfg: STARConfig, cfg: TrainConfig, device: str | torch.device) -> RunResult:
    try:
        model, extra = load_checkpoint(run_dir / "model.pt", expected=model_cfg)
    except CheckpointError as exc:
        redo = "finish the run again from its state.pt" if (run_dir / "state.pt").is_file() else "train the run again"
        raise TrainingStateError(f"{exc}. This is the final model of run {run_dir.name}: remove it to {redo}") from exc
    log = _Log(run_dir / "log.csv", cfg.steps, enabled=False).rows
    val = _Log(run_dir / "val.csv", cfg.steps, enabled=False).rows
    return RunResult(model.to(device), run_dir, log, reused=True, wall_time_s=float(extra.get("train_seconds", 0)),
                     val=val)


def _train_locked(model_cfg: STARConfig, cfg: TrainConfig, dataset: Any, data_tag: str, runs_dir: Path,
                  run_dir: Path, device: str | torch.device, progress: bool, stop_after: int | None,
                  vgg: VGGFeatures | None, on_step: Callable[[int, dict], None] | None, rank: int,
                  world: int, validator: Validator | None = None, validate_every: int = 0) -> RunResult:
    """The body of :func:`train` once this process holds the run (rank 0 holds its lock)."""
    final_path, state_path, log_path = run_dir / "model.pt", run_dir / "state.pt", run_dir / "log.csv"
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.json", json.dumps(
            {"model": model_cfg.to_dict(), "train": cfg.to_dict(), "data": data_tag, "git_commit": git_commit()},
            indent=2))

    seed_everything(cfg.seed)
    model = STARnet(model_cfg)
    if not (run_dir / "state.pt").is_file():     # a resumed run takes its weights from its state
        initialise(model, cfg, runs_dir)
    model.to(device)
    if cfg.bf16:
        warn_if_slow_bf16(device, "TrainConfig.bf16")
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adamax(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps,
                                   foreach=ADAMAX_IMPLEMENTATIONS[cfg.adamax])
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, _milestones(cfg), cfg.lr_gamma)
    step, seconds_before = _resume(run_dir, cfg, model, optimizer, scheduler, rank)
    train_model: torch.nn.Module = model
    ddp: torch.nn.parallel.DistributedDataParallel | None = None
    if world > 1:
        # unused parameters exist: RBPN's res_feat3, and whole branches under the S or T objectives
        train_model = ddp = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    if cfg.compile:   # checkpoints keep the plain model's state dict (no "_orig_mod." keys)
        train_model = torch.compile(train_model, backend=cfg.compile)

    weights = LossWeights(cfg.perceptual_weight, cfg.flow_weight if model_cfg.flow_refine else 0.0)
    if weights.perceptual > 0 and vgg is None:
        vgg = VGGFeatures(cfg.vgg_weights or None)
    loss_fn = STARLoss(cfg.objective, weights, vgg.to(device) if vgg is not None else None)
    log = _Log(log_path, step, enabled=rank == 0)
    validating = validator is not None and validate_every > 0 and rank == 0
    val = _Log(run_dir / "val.csv", step if step else -1, enabled=validating)

    def validate() -> None:
        model.eval()
        with torch.no_grad():
            for row in validator(model):
                val.add({"step": step, **row})
        model.train()

    if validating and step == 0:
        validate()
    end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    bar = progress_bar(total=cfg.steps, initial=step, desc=run_dir.name, disable=not progress or rank != 0)
    start_wall = time.perf_counter()
    model.train()
    mine = list(range(rank, cfg.batch_size, world))          # this rank's items of every batch
    if not mine:
        raise ConfigError(f"batch_size {cfg.batch_size} is smaller than the {world} processes: rank {rank} gets "
                          f"nothing")
    chunk = cfg.micro_batch or len(mine)
    ahead = (step_batches(dataset, step, end, mine, cfg.loader_workers, torch.device(device).type == "cuda")
             if cfg.loader_workers else None)
    while step < end:
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        parts: dict[str, float] = {}
        whole = next(ahead) if ahead is not None else None
        data_seconds = time.perf_counter() - t0               # waiting for data: the device's idle share
        for c0 in range(0, len(mine), chunk):
            indices = mine[c0:c0 + chunk]
            t_data = time.perf_counter()
            batch = ({k: v[c0:c0 + len(indices)] for k, v in whole.items()} if whole is not None
                     else dataset.batch(step, indices))
            data_seconds += time.perf_counter() - t_data
            frac = len(indices) / len(mine)                   # the loss is the mean over this rank's items
            last = c0 + chunk >= len(mine)
            sync = contextlib.nullcontext() if last or ddp is None else ddp.no_sync()
            with sync:
                chunk_parts = _forward_backward(train_model, loss_fn, batch, cfg, model_cfg, device, frac)
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
                     "data_seconds": round(data_seconds, 4),
                     "grad_norm": math.sqrt(grad_sq), **parts})
        if on_step is not None:
            on_step(step, parts)
        if validating and (step % validate_every == 0 or step == cfg.steps):
            validate()
        if rank == 0 and (step % cfg.checkpoint_every == 0 or step == end):
            _save_state({"format": STATE_FORMAT, "step": step, "model": model.state_dict(),
                         "train_seconds": seconds_before + time.perf_counter() - start_wall,
                         "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, state_path)
    bar.close()
    total_seconds = seconds_before + time.perf_counter() - start_wall
    if rank == 0 and step >= cfg.steps:
        with _disk_full_names(final_path, f"run {run_dir.name} keeps its last checkpoint and a rerun writes "
                                          f"{final_path.name} from it"):
            save_checkpoint(model, final_path, extra={"steps": step, "objective": cfg.objective, "data": data_tag,
                                                      "git_commit": git_commit(), "train_seconds": total_seconds})
        (run_dir / PREV_STATE_NAME).unlink(missing_ok=True)  # state.pt stays; the older one is not needed now
    if world > 1:
        dist.barrier()
    return RunResult(model, run_dir, log.rows, wall_time_s=total_seconds, val=val.rows)
