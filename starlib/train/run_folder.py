"""A run's folder: locking, saved state, resume, logs, and what a full disk leaves behind.

A run lives in ``runs/<objective>-<hash>/`` (:class:`~starlib.train.run.Run`):

    config.json     both configs (and the data description)
    log.csv         one row per logged step: losses, learning rate, seconds per step and of it the seconds spent
                    waiting for the batch (``data_seconds``: the device's idle share on a GPU)
    val.csv         validation scores every ``validate_every`` steps (when a validator is given), e.g. PSNR per
                    output next to its baseline; observation only: it changes neither the weights nor the name
    state.pt        full training state (model, optimiser, scheduler, step), rewritten atomically
    state.prev.pt   the state before the last rewrite: resumed from (with a warning) when state.pt is unreadable
    model.pt        the final model (``starlib.models.save_checkpoint`` format) once the run is done
    .lock           held (``flock``) by the process training the run; names its pid and host

One process trains a run at a time: a second one is refused (:class:`RunLocked`) naming the holder; the lock
goes with the process that held it (killed included), so a stale lock file never blocks. A full disk is one
:class:`~starlib.util.atomic.DiskFullError` naming the file; the last checkpoint stays, so a rerun resumes.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import socket
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.optim.lr_scheduler import LRScheduler

from starlib.models import STARnet, load_checkpoint, save_checkpoint
from starlib.models.checkpoint import CheckpointError, atomic_torch_save
from starlib.util.atomic import DiskFullError, atomic_write_text, is_disk_full
from starlib.util.provenance import git_commit

from .run import Run, RunResult, TrainConfig
from .run_state import TrainingStateError, apply_state, read_state, state_payload

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"
PREV_STATE_NAME = "state.prev.pt"
BROKEN_STATE_NAME = "state.broken.pt"

#: Columns of log.csv that are wall-clock timings (everything else is a pure function of the run).
TIMING_COLUMNS = ("seconds_per_step", "data_seconds")


class RunLocked(RuntimeError):
    """Another live process is training this run; the message names its pid, host and lock file."""


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


class RunLog:
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


@dataclass(frozen=True)
class RunFolder:
    """The folder of one run (``path``) and everything the trainer reads from or writes into it."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model_path(self) -> Path:
        return self.path / "model.pt"

    @property
    def state_path(self) -> Path:
        return self.path / "state.pt"

    def is_finished(self) -> bool:
        """The run wrote its final model."""
        return self.model_path.is_file()

    def has_state(self) -> bool:
        """The run has a training state to resume from (so its weights come from there)."""
        return self.state_path.is_file()

    def lock(self, rank: int, world: int, stack: contextlib.ExitStack) -> None:
        """Rank 0 takes the run's lock until ``stack`` closes; under torch.distributed every rank raises
        :class:`RunLocked` when it could not."""
        _locked_by_rank0(self.path, rank, world, stack)

    def write_config(self, run: Run) -> None:
        """Create the folder and record the run in ``config.json``."""
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path / "config.json", json.dumps(run.config_json(git_commit()), indent=2))

    def log(self, keep_until: int, enabled: bool) -> RunLog:
        """``log.csv``, its rows past ``keep_until`` dropped (written only when ``enabled``)."""
        return RunLog(self.path / "log.csv", keep_until, enabled)

    def val_log(self, keep_until: int, enabled: bool) -> RunLog:
        """``val.csv``, its rows past ``keep_until`` dropped (written only when ``enabled``)."""
        return RunLog(self.path / "val.csv", keep_until, enabled)

    def resume(self, cfg: TrainConfig, model: STARnet, optimizer: torch.optim.Optimizer, scheduler: LRScheduler,
               rank: int) -> tuple[int, float]:
        """Load the run's training state into the model, optimiser and scheduler: ``(step, seconds so far)``,
        ``(0, 0.0)`` for a fresh run. An unreadable ``state.pt`` falls back to ``state.prev.pt`` with a warning
        (rank 0 moves the bad file to ``state.broken.pt``); when neither can be used, :class:`TrainingStateError`
        names the files and the fix."""
        run_dir, state_path, prev_path = self.path, self.state_path, self.path / PREV_STATE_NAME
        tried: list[tuple[Path, CheckpointError]] = []
        for path in (state_path, prev_path):
            if not path.is_file():
                continue
            try:
                state = read_state(path, cfg)
                apply_state(state, path, model, optimizer, scheduler)
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

    def save_state(self, step: int, model: STARnet, optimizer: torch.optim.Optimizer, scheduler: LRScheduler,
                   train_seconds: float) -> None:
        """Keep the current ``state.pt`` as ``state.prev.pt`` (a hard link, so ``state.pt`` never goes missing),
        then write the new state atomically. A full disk is a :class:`DiskFullError` naming the file; the last
        state stays, so a rerun resumes from it."""
        state_path = self.state_path
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
            atomic_torch_save(state_payload(step, model, optimizer, scheduler, train_seconds), state_path)

    def finish(self, run: Run, model: STARnet, step: int, train_seconds: float) -> None:
        """Write the final model; the older state is not needed any more (``state.pt`` stays)."""
        final = self.model_path
        with _disk_full_names(final, f"run {self.name} keeps its last checkpoint and a rerun writes "
                                     f"{final.name} from it"):
            save_checkpoint(model, final, extra={"steps": step, "objective": run.train.objective,
                                                 "data": run.data_tag, "git_commit": git_commit(),
                                                 "train_seconds": train_seconds})
        (self.path / PREV_STATE_NAME).unlink(missing_ok=True)

    def reuse(self, run: Run, device: str | torch.device) -> RunResult:
        """The finished run: its final model (checked against the run's network), logs and training time."""
        try:
            model, extra = load_checkpoint(self.model_path, expected=run.model)
        except CheckpointError as exc:
            redo = "finish the run again from its state.pt" if self.has_state() else "train the run again"
            raise TrainingStateError(f"{exc}. This is the final model of run {self.name}: remove it to {redo}") \
                from exc
        log = self.log(run.train.steps, enabled=False).rows
        val = self.val_log(run.train.steps, enabled=False).rows
        return RunResult(model.to(device), self.path, log, reused=True,
                         wall_time_s=float(extra.get("train_seconds", 0)), val=val)
