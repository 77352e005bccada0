"""A run's saved training state (``state.pt``): what it holds, and the checks before it is resumed from.

A state file comes from disk and may be truncated, foreign or from another run: :func:`read_state` and
:func:`apply_state` check everything (format, entries, shapes, finite numbers, step range) before anything is
loaded, and raise :class:`~starlib.models.checkpoint.CheckpointError` saying what is wrong with the file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from starlib.models import STARnet
from starlib.models.checkpoint import (CheckpointError, check_finite, check_fits, check_state_dict_layout,
                                       load_state_dict_strict, torch_load_untrusted)

from .run import TrainConfig

STATE_FORMAT = "starlib-train-state/1"


class TrainingStateError(CheckpointError):
    """A run's ``state.pt`` (and ``state.prev.pt``) cannot be resumed from; the message names the file and the
    fix."""


def state_payload(step: int, model: STARnet, optimizer: torch.optim.Optimizer, scheduler: LRScheduler,
                  train_seconds: float) -> dict[str, Any]:
    """What ``state.pt`` holds after ``step`` steps."""
    return {"format": STATE_FORMAT, "step": step, "model": model.state_dict(), "train_seconds": train_seconds,
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}


def read_state(path: Path, cfg: TrainConfig) -> dict[str, Any]:
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


def apply_state(state: dict[str, Any], path: Path, model: STARnet, optimizer: torch.optim.Optimizer,
                 scheduler: LRScheduler) -> None:
    """Load a state read by :func:`read_state` into the model, optimiser and scheduler (all checked first)."""
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

