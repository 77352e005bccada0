"""Train, reuse or install a planned run: a run the workspace holds finished is reused, a run shipped in git is
copied in, a run the profile ships but whose files are gone is refused (unless training is allowed), and any
other run is trained after the runs it starts from. Validation during training: :class:`Validation`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np

from starlib import metrics as M
from starlib.data import FrameStack, RandomCropWindows, Window, load_window
from starlib.evaluation.baselines import bicubic_and_average
from starlib.evaluation.methods import ground_truth
from starlib.infer.runner import STARMethod
from starlib.models import STARnet
from starlib.paper.objectives import Objective
from starlib.study.trainings.plans import Plan, plan
from starlib.study.trainings.recipes import Training, training_split
from starlib.study.trainings.shipped_runs import refusal, shipped_run_names
from starlib.study.setup.workspace import Workspace
from starlib.train import RunResult, train
from starlib.util.config import ConfigError
from starlib.util.paths import SHIPPED_RUNS_DIR


class Validation:
    """A validator for :func:`starlib.train.train`: the mean PSNR of each scored output of an objective on the
    validation windows, next to bicubic + frame averaging on the same frames (loaded and scored on the first
    call, so a finished run that is only reused costs nothing)."""

    def __init__(self, ws: Workspace, windows: list[Window], objective: Objective) -> None:
        self.ws, self.windows, self.inputs, self.outputs = ws, windows, objective.inputs, objective.scored

    @cached_property
    def stacks(self) -> list[FrameStack]:
        scale, crop = self.ws.profile.scale, self.ws.profile.validation.crop
        return [_centre_crop(load_window(w, scale), crop, scale) for w in self.windows]

    @cached_property
    def baseline(self) -> dict[str, float]:
        scale = self.ws.profile.scale
        return {o: float(np.mean([M.psnr(ground_truth(s, o), bicubic_and_average(s, scale)[o]) for s in self.stacks]))
                for o in self.outputs}

    def __call__(self, model: STARnet) -> list[dict]:
        method = STARMethod(model, self.ws.flows, inputs=self.inputs, tile=self.ws.profile.eval.tile(self.inputs),
                            device=self.ws.device)
        preds = [method(s) for s in self.stacks]
        return [{"output": o, "psnr": float(np.mean([M.psnr(ground_truth(s, o), p[o])
                                                     for s, p in zip(self.stacks, preds)])),
                 "baseline_psnr": self.baseline[o], "n": len(self.stacks)} for o in self.outputs]


def _centre_crop(stack: FrameStack, crop: int, scale: int) -> FrameStack:
    """The centre ``crop`` x ``crop`` LR px of every frame (``crop * scale`` HR px); 0 = whole frames."""
    if not crop:
        return stack
    h, w = stack.lr[0].shape[:2]
    c = min(crop, h, w)
    y, x = (h - c) // 2, (w - c) // 2
    lr = [f[y:y + c, x:x + c] for f in stack.lr]
    hr = [f[y * scale:(y + c) * scale, x * scale:(x + c) * scale] for f in stack.hr]
    return FrameStack(stack.name, hr, lr)


SHIPPED_FILES = ("model.pt", "config.json", "log.csv", "val.csv")


def install_shipped(ws: Workspace, name: str, shipped_dir: Path | None = None) -> bool:
    """Whether run ``name`` is finished in the workspace's runs folder, after copying it there from the runs
    shipped in git (``checkpoints/<profile>/<name>/``, :data:`starlib.util.paths.SHIPPED_RUNS_DIR`) when it was
    missing. The copy is assembled beside the run folder and renamed into place, so a crash leaves no half run;
    a run folder that exists unfinished (an interrupted training) is left alone to resume."""
    target = ws.runs / name
    if (target / "model.pt").is_file():
        return True
    source = (shipped_dir or SHIPPED_RUNS_DIR) / ws.profile.name / name
    if not (source / "model.pt").is_file() or target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        for file in SHIPPED_FILES:
            if (source / file).is_file():
                shutil.copyfile(source / file, tmp / file)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return True


def runs_to_train(p: Plan, finished: Callable[[str], bool]) -> list[Plan]:
    """The runs :func:`train_plan` of ``p`` would train, upstream first: ``p`` unless ``finished(its name)``,
    and, for each run trained, the runs it starts from that are not finished."""
    if finished(p.name):
        return []
    todo: list[Plan] = []
    for need in p.needs:
        todo += [q for q in runs_to_train(need, finished) if all(q.what != t.what for t in todo)]
    return todo + [p]


def check_training_allowed(ws: Workspace, what: Training) -> None:
    """Refuse (:class:`starlib.study.trainings.shipped_runs.TrainingNotAllowed`) to train a run the profile ships whose
    files are missing, unless the workspace allows training; runs nobody ships train as before."""
    _check_plan_allowed(ws, plan(ws, what))


def _check_plan_allowed(ws: Workspace, p: Plan) -> None:
    if ws.allow_training:
        return
    shipped = shipped_run_names(ws.profile.name, SHIPPED_RUNS_DIR)
    if not shipped:
        return
    source = SHIPPED_RUNS_DIR / ws.profile.name
    todo = runs_to_train(p, lambda name: any((folder / name / "model.pt").is_file() for folder in (ws.runs, source)))
    missing = [q.name for q in todo if q.name in shipped]
    if missing:
        raise refusal(ws.profile.name, missing, [(q.name, q.train.steps) for q in todo], SHIPPED_RUNS_DIR)


def train_run(ws: Workspace, what: Training) -> RunResult:
    """Train (or reuse) ``what`` under the workspace's profile, on its device: :func:`train_plan` of its plan."""
    return train_plan(ws, plan(ws, what))


def train_plan(ws: Workspace, p: Plan) -> RunResult:
    """Train (or reuse, or install the shipped copy of) the run ``p``; the runs it starts from (a finetune's
    parent, the stages of the staged recipe) are trained first when they are not finished."""
    profile, mcfg, tcfg = ws.profile, p.model, p.train
    _check_plan_allowed(ws, p)
    if not install_shipped(ws, p.name):
        for need in p.needs:
            if not (ws.runs / need.name / "model.pt").is_file():
                train_plan(ws, need)
    windows, held_out, tag = training_split(profile)
    data = RandomCropWindows(windows, patch=tcfg.patch, scale=mcfg.scale, samples_per_epoch=10**9,
                             flow_cache=ws.flows, flow_on=tcfg.inputs, seed=tcfg.seed, static_prob=tcfg.static_items)
    per_forward = tcfg.micro_batch or tcfg.batch_size
    if tcfg.patch == 0 and per_forward > 1 and len(data.frame_sizes) > 1:
        sizes = ", ".join(f"{w}x{h}" for h, w in sorted(data.frame_sizes)[:4])
        raise ConfigError(f"{profile.path or profile.name} [train]: patch = 0 trains {p.objective.name} on whole "
                          f"frames, but its training frames come in {len(data.frame_sizes)} sizes ({sizes}, ...), "
                          f"which cannot share a batch of {per_forward}; set patch (e.g. 32) or micro_batch = 1")
    every = profile.validation.every if held_out and p.objective.scored and mcfg.scale == profile.scale else 0
    validator = Validation(ws, held_out, p.objective) if every else None
    return train(mcfg, tcfg, data, tag, runs_dir=ws.runs, progress=ws.progress, device=ws.device,
                 validator=validator, validate_every=every)
