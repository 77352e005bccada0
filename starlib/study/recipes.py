"""Recipes: a profile, an objective and a network variant give the data, the configs and the runs to train.

Used by every table and notebook and by ``python -m starlib train``. The ``smoke`` and ``cpu`` profiles train
on the embedded real clips (DAVIS triplets, the TOFlow clip); a profile with ``[data] train_data =
"vimeo90k"`` trains on Vimeo90K triplets from ``[data] vimeo_root``. Test sets: Middlebury "other" and UCF101.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from starlib import metrics as M
from starlib.data import (FrameStack, RandomCropWindows, Window, davis_triplets, frame_folder, load_window,
                          middlebury_other, sliding_windows, ucf101_dvf, vimeo90k)
from starlib.data.sources import data_root
from starlib.evaluation.baselines import bicubic_and_average
from starlib.evaluation.methods import ground_truth
from starlib.infer.runner import STARMethod
from starlib.models import STARConfig, STARnet
from starlib.paper.objectives import objective as objective_record
from starlib.study.profile import Profile
from starlib.study.workspace import Workspace
from starlib.train import RunResult, TrainConfig, run_id, train

#: The S-SR networks of Tables 7-8 as Net_S alone (``STARConfig.net_s_only``).
NET_S_ALONE: dict[str, dict[str, Any]] = {
    "DBPN": {"net_s_only": True, "net_s": "dbpn", "use_flow": False, "use_motion": False, "flow_refine": False},
    "DBPN-MI": {"net_s_only": True, "net_s": "dbpn_mi", "use_motion": False, "flow_refine": False},
    "RBPN": {"net_s_only": True, "net_s": "rbpn", "use_motion": False, "flow_refine": False},
}


@dataclass(frozen=True)
class Training:
    """What to train: an objective on the profile's network with ``variant`` (STARConfig changes) and
    ``overrides`` (TrainConfig changes). A finetune starts from its parent objective's run of the same network
    (trained first when missing) unless ``from_parent`` is False."""

    objective: str = "STAR"
    variant: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    from_parent: bool = True

    def __post_init__(self) -> None:
        objective_record(self.objective)


def _split(windows: list[Window], held_out: list[Window], tag: str) -> tuple[list[Window], list[Window], str]:
    names = {w.name for w in held_out}
    train = [w for w in windows if w.name not in names]
    return train, held_out, f"{tag}:{len(train)}" + (f"-val{len(held_out)}" if held_out else "")


def training_split(profile: Profile, length: int = 3) -> tuple[list[Window], list[Window], str]:
    """``(training windows, validation windows, tag)``: windows of ``length`` consecutive frames; the
    validation split (``[validation] windows``) is carved out of the training data (the last DAVIS triplets,
    whole scenes no training window shares; with Vimeo90K the last training triplets) and never trained on.
    The tag names the data in run names."""
    data, n_val = profile.data, profile.validation.windows
    if data.train_data == "vimeo90k":
        if not data.vimeo_root:
            raise FileNotFoundError(f"{profile.path or profile.name}: [data] train_data = \"vimeo90k\" needs "
                                    f"[data] vimeo_root, the folder holding sequences/ and the list files")
        kind = "triplet" if length == 3 else "septuplet"
        windows = vimeo90k(data.vimeo_root, "train", kind)
        return _split(windows, windows[len(windows) - n_val:] if n_val else [], f"vimeo90k-{kind[:3]}-train")
    clip = frame_folder(data_root() / "train" / "toflow_clip" / "frames", "toflow")
    windows = sliding_windows(clip, length)
    davis = davis_triplets() if length == 3 else []
    if n_val > len(davis):
        raise ValueError(f"{profile.path or profile.name}: [validation] windows = {n_val}, but only {len(davis)} "
                         f"DAVIS triplets can be held out (sliding windows of one clip share frames)")
    held_out = davis[len(davis) - n_val:] if n_val else []
    windows = davis + windows
    if data.max_train_windows:
        windows = [w for w in windows if w not in held_out][:data.max_train_windows] + held_out
    return _split(windows, held_out, f"davis+toflow-w{length}")


class Validation:
    """A validator for :func:`starlib.train.train`: the mean PSNR of each scored output of an objective on the
    validation windows, next to bicubic + frame averaging on the same frames (loaded and scored on the first
    call, so a finished run that is only reused costs nothing)."""

    def __init__(self, ws: Workspace, windows: list[Window], objective: str) -> None:
        record = objective_record(objective)
        self.ws, self.windows, self.inputs, self.outputs = ws, windows, record.inputs, record.scored

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


def test_benchmarks(profile: Profile) -> dict[str, list[Window]]:
    """The test sets, each cut to ``[data] max_test_items`` (0 = all)."""
    n = profile.data.max_test_items
    return {name: (w[:n] if n else w) for name, w in (("middlebury", middlebury_other()), ("ucf101", ucf101_dvf()))}


def ablation_benchmarks(profile: Profile) -> dict[str, list[Window]]:
    """Test sets of the architecture ablations (Tables 1, 4, 6), cut to ``[tables] ablation_max_items``."""
    n = profile.tables.ablation_max_items
    return {d: (w[:n] if n else w) for d, w in test_benchmarks(profile).items()}


def hr_input_benchmarks(profile: Profile) -> dict[str, list[Window]]:
    """Test sets scored with HR inputs (16x the pixels): ``[eval] hr_input_benchmarks``, each cut to
    ``[eval] max_items_hr_inputs``."""
    ev, n = profile.eval, profile.eval.max_items_hr_inputs
    return {d: (w[:n] if n else w) for d, w in test_benchmarks(profile).items() if d in ev.hr_input_benchmarks}


def model_config(profile: Profile, variant: Mapping[str, Any] | None = None) -> STARConfig:
    return profile.model.replace(**dict(variant or {}))


def train_config(profile: Profile, objective: str, **overrides: Any) -> TrainConfig:
    """``[train]``, then ``[train.finetune]`` (finetunes), then ``[train."<objective>"]``, then ``overrides``
    (an error names the profile file and, when there are any, the overrides as the values' sources)."""
    where = str(profile.path or profile.name) + (f" with overrides {overrides}" if overrides else "")
    return profile.train.config(objective, where=where, **overrides)


def net_s_alone(profile: Profile, name: str) -> Training:
    """Net_S trained alone for S-SR (DBPN, DBPN-MI, RBPN): STAR's steps plus the finetune's, at STAR's
    learning rate, from scratch."""
    star, finetune = profile.train.fields("STAR"), profile.train.fields("STAR-S")
    steps = int(star.get("steps", TrainConfig.steps)) + int(finetune.get("steps", TrainConfig.steps))
    return Training("STAR-S", NET_S_ALONE[name], {"steps": steps, "lr": float(star.get("lr", TrainConfig.lr))},
                    from_parent=False)


def _configs(ws: Workspace, what: Training) -> tuple[STARConfig, TrainConfig, Training | None]:
    """The network and training configs of ``what`` and the parent it starts from (None: from scratch); a
    parent enters by its run name, computed without loading or training it."""
    overrides = dict(what.overrides)
    if ws.seed is not None:
        overrides.setdefault("seed", ws.seed)
    parent = objective_record(what.objective).parent
    parent_what = None
    if parent and what.from_parent and "init_from" not in overrides:
        parent_what = Training(parent, what.variant, {k: v for k, v in overrides.items() if k == "seed"})
        overrides["init_from"] = run_name(ws, parent_what)
    return model_config(ws.profile, what.variant), train_config(ws.profile, what.objective, **overrides), parent_what


def run_name(ws: Workspace, what: Training) -> str:
    """The folder name of ``what``'s run (``<objective>-<hash>``), whether or not it exists yet."""
    mcfg, tcfg, _ = _configs(ws, what)
    return run_id(mcfg, tcfg, training_split(ws.profile)[2])


def train_run(ws: Workspace, what: Training) -> RunResult:
    """Train (or reuse) ``what`` under the workspace's profile, on its device; a finetune's parent is trained
    first when its run is not finished."""
    profile = ws.profile
    mcfg, tcfg, parent = _configs(ws, what)
    if parent is not None and not (ws.runs / tcfg.init_from / "model.pt").is_file():
        train_run(ws, parent)
    windows, held_out, tag = training_split(profile)
    data = RandomCropWindows(windows, patch=tcfg.patch, scale=mcfg.scale, samples_per_epoch=10**9,
                             flow_cache=ws.flows, flow_on=tcfg.inputs, seed=tcfg.seed)
    every = profile.validation.every if held_out and mcfg.scale == profile.scale else 0
    validator = Validation(ws, held_out, what.objective) if every else None
    return train(mcfg, tcfg, data, tag, runs_dir=ws.runs, progress=ws.progress, device=ws.device,
                 validator=validator, validate_every=every)
