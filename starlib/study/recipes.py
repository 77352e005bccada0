"""Recipes: a profile, an objective and a network variant give the data, the configs and the runs to train.

Used by every table and notebook and by ``python -m starlib train``. The ``smoke`` and ``cpu`` profiles train
on the embedded real clips (DAVIS triplets, the TOFlow clip); a profile with ``[data] train_data =
"vimeo90k"`` trains on Vimeo90K triplets from ``[data] vimeo_root``. Test sets: Middlebury "other" and UCF101.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from starlib import metrics as M
from starlib.data import (FrameStack, RandomCropWindows, Window, davis_triplets, frame_folder, load_window,
                          middlebury_other, sliding_windows, ucf101_dvf, vimeo90k)
from starlib.data.packaged_video import packaged_windows
from starlib.data.sources import toflow_frames
from starlib.evaluation.baselines import bicubic_and_average
from starlib.evaluation.methods import ground_truth
from starlib.infer.runner import STARMethod
from starlib.models import STARConfig, STARnet
from starlib.paper.objectives import objective as objective_record
from starlib.study.profile import Profile
from starlib.study.workspace import Workspace
from starlib.train import RunResult, TrainConfig, run_id, train
from starlib.train.losses import VGGWeightsMissing, find_vgg19_weights
from starlib.study.shipped_runs import refusal, shipped_run_names
from starlib.util.config import ConfigError
from starlib.util.paths import SHIPPED_RUNS_DIR

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
    (trained first when missing) unless ``from_parent`` is False; a first-trained network goes through the
    profile's ``[stages]`` (:func:`stages`) unless ``from_parent`` is False. ``stage`` is set by the recipes
    only: ``"core"`` is stage (c), the network without FR that stage (d) starts from."""

    objective: str = "STAR"
    variant: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    from_parent: bool = True
    stage: str = ""

    def __post_init__(self) -> None:
        objective_record(self.objective)
        if self.stage not in ("", "core"):
            raise ValueError(f"Training.stage must be '' or 'core', got {self.stage!r}")


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
    clip = frame_folder(toflow_frames(), "toflow")
    windows = sliding_windows(clip, length)
    davis = davis_triplets() if length == 3 else []
    if n_val > len(davis):
        raise ValueError(f"{profile.path or profile.name}: [validation] windows = {n_val}, but only {len(davis)} "
                         f"DAVIS triplets can be held out (sliding windows of one clip share frames)")
    held_out = davis[len(davis) - n_val:] if n_val else []
    windows = davis + windows
    if data.max_train_windows:
        windows = [w for w in windows if w not in held_out][:data.max_train_windows] + held_out
    if data.packaged_video:                  # the data axis: more real video, under a tag of its own
        return _split(windows + packaged_windows(data.packaged_video, length), held_out,
                      f"davis+toflow+{'+'.join(data.packaged_video)}-w{length}")
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
    """The test sets (Middlebury "other", UCF101, and with ``[data] vimeo_test`` the Vimeo90K triplet test
    list), each cut to ``[data] max_test_items`` (0 = all)."""
    n = profile.data.max_test_items
    sets = [("middlebury", middlebury_other()), ("ucf101", ucf101_dvf())]
    if profile.data.vimeo_test:                       # the authors' list: vimeo_root/tri_testlist.txt
        if not profile.data.vimeo_root:
            raise FileNotFoundError(f"{profile.path or profile.name}: [data] vimeo_test = true scores on Vimeo90K "
                                    f"triplets; set [data] vimeo_root to the folder holding sequences/ and "
                                    f"tri_testlist.txt, or vimeo_test = false")
        sets.append(("vimeo90k", vimeo90k(profile.data.vimeo_root, "test", "triplet")))
    return {name: (w[:n] if n else w) for name, w in sets}


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
    """The profile's network with ``variant``. A network of one part alone (Net_S alone, the FR U-Net alone)
    keeps only the settings that shape that part, the rest at their defaults, so its run is named by what it
    computes and shared by every network with the same part."""
    cfg = profile.model.replace(**dict(variant or {}))
    if cfg.net_s_only:
        return STARConfig(**{k: getattr(cfg, k) for k in NET_S_FIELDS}, net_s_only=True, use_motion=False,
                          flow_refine=False)
    if cfg.fr_only:
        return STARConfig(**{k: getattr(cfg, k) for k in ("scale", *FR_FIELDS)}, fr_only=True)
    return cfg


def train_config(profile: Profile, objective: str, **overrides: Any) -> TrainConfig:
    """``[train]``, then ``[train.finetune]`` (finetunes), then ``[train."<objective>"]``, then ``overrides``
    (an error names the profile file and, when there are any, the overrides as the values' sources)."""
    where = str(profile.path or profile.name) + (f" with overrides {overrides}" if overrides else "")
    return profile.train.config(objective, where=where, **overrides)


#: STARConfig fields that shape Net_S (and what a Net_S-alone run computes): the rest of the network's
#: settings do not enter the Net_S stage, so every variant with the same Net_S shares one stage (a).
NET_S_FIELDS = ("scale", "base_filter", "feat", "num_stages", "n_resblock", "net_s", "dbpn_num_up", "dbpn_dense",
                "keep_unused_rbpn_branch", "net_s_flow", "use_flow", "global_residual")
#: STARConfig fields that shape the flow-refinement U-Net (stage (b)).
FR_FIELDS = ("fr_width", "fr_depth", "fr_correction", "fr_identity_init")


def _changed(profile: Profile, cfg: STARConfig, names: tuple[str, ...]) -> dict[str, Any]:
    return {k: getattr(cfg, k) for k in names if getattr(cfg, k) != getattr(profile.model, k)}


def net_s_steps(profile: Profile) -> int:
    """Steps of a Net_S-alone run: ``[stages] net_s_steps``, or STAR's steps plus a finetune's."""
    if profile.stages.net_s_steps:
        return profile.stages.net_s_steps
    star, finetune = profile.train.fields("STAR"), profile.train.fields("STAR-S")
    return int(star.get("steps", TrainConfig.steps)) + int(finetune.get("steps", TrainConfig.steps))


def _net_s_training(profile: Profile, variant: Mapping[str, Any]) -> Training:
    star_lr = float(profile.train.fields("STAR").get("lr", TrainConfig.lr))
    return Training("STAR-S", variant, {"steps": net_s_steps(profile), "lr": star_lr}, from_parent=False)


def net_s_alone(profile: Profile, name: str) -> Training:
    """Net_S trained alone for S-SR (DBPN, DBPN-MI, RBPN; Tables 7-8) at STAR's learning rate, from scratch:
    the same runs as stage (a) of the networks with that Net_S."""
    return _net_s_training(profile, NET_S_ALONE[name])


def net_s_stage(profile: Profile, cfg: STARConfig) -> Training:
    """Stage (a) of network ``cfg``: its Net_S trained alone (a single-image DBPN takes no flow)."""
    changed = _changed(profile, cfg, NET_S_FIELDS)
    if cfg.net_s == "dbpn":
        changed["use_flow"] = False
    if not cfg.global_residual and profile.model.mid_base != "average":
        changed["mid_base"] = "average"           # a warped middle base needs the residual (Net_S has no middle)
    return _net_s_training(profile, {**changed, "net_s_only": True, "use_motion": False, "flow_refine": False})


def fr_stage(profile: Profile, cfg: STARConfig) -> Training:
    """Stage (b) of network ``cfg``: its flow-refinement U-Net trained alone on the FR targets."""
    star_lr = float(profile.train.fields("STAR").get("lr", TrainConfig.lr))
    variant = {**_changed(profile, cfg, ("scale", *FR_FIELDS)), "fr_only": True, "flow_refine": True,
               "use_flow": True}
    return Training("FR", variant, {"steps": profile.stages.fr_steps, "lr": star_lr}, from_parent=False)


def _configs(ws: Workspace, what: Training) -> tuple[STARConfig, TrainConfig, list[Training]]:
    """The network and training configs of ``what`` and the runs it starts from (trained first when
    missing); those enter by their run names, computed without loading or training them."""
    profile, stages = ws.profile, ws.profile.stages
    overrides = dict(what.overrides)
    seed = {k: v for k, v in overrides.items() if k == "seed"}
    if ws.seed is not None:
        overrides.setdefault("seed", ws.seed)
        seed = {"seed": overrides["seed"]}
    # the loss goes with the network through its chain: a finetune's parent and stage (c) (the authors'
    # scripts all train with the same 0.1 L_vgg); stages (a) and (b) have losses of their own
    carried = {**seed, **{k: v for k, v in overrides.items() if k == "perceptual_weight"}}
    mcfg = model_config(profile, what.variant)
    record = objective_record(what.objective)
    needs: list[Training] = []

    def start(key: str, source: Training | str) -> None:
        if key not in overrides:
            if isinstance(source, Training):                    # every stage runs with the same seed
                source = dataclasses.replace(source, overrides={**source.overrides, **seed})
                needs.append(source)
                source = run_name(ws, source)
            overrides[key] = source

    if record.parent:                                           # (e) a finetune: from its parent's run
        if what.from_parent:
            start("init_from", Training(record.parent, what.variant, carried))
    elif what.from_parent and not mcfg.net_s_only and not mcfg.fr_only:
        if stages.fr and not what.stage:                        # (d): from (c), the U-Net from (b)
            core = Training(what.objective, {**what.variant, "flow_refine": False},
                            {**carried, "steps": stages.core_steps} if stages.core_steps else carried,
                            stage="core")
            start("init_from", core)
            if mcfg.flow_refine:
                start("init_flow_net", stages.fr_file or fr_stage(profile, mcfg))
        elif stages.net_s or stages.net_s_file:                 # (c), or the only stage: Net_S from (a)
            start("init_net_s", stages.net_s_file or net_s_stage(profile, mcfg))
    return mcfg, train_config(profile, what.objective, **overrides), needs


def run_configs(ws: Workspace, what: Training) -> tuple[STARConfig, TrainConfig]:
    """The network and training configs ``what`` trains with (nothing is loaded or trained)."""
    mcfg, tcfg, _ = _configs(ws, what)
    return mcfg, tcfg


#: The paper's two losses as TrainConfig.perceptual_weight (eqs. 16-17).
LOSSES = {"L_r": 0.0, "L_f": 0.1}


def loss_overrides(profile: Profile, loss: str) -> tuple[dict[str, Any], str]:
    """``(TrainConfig overrides, what runs)`` for the paper's loss ``loss``: L_f needs VGG19 ImageNet weights;
    without them the run keeps L_r and the returned description says so."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
    if loss == "L_f":
        try:
            find_vgg19_weights(profile.train.fields("STAR").get("vgg_weights") or None)
        except VGGWeightsMissing:
            return {}, "L_r (L_f asked for; VGG19 ImageNet weights missing)"
        return {"perceptual_weight": LOSSES["L_f"]}, "L_f"
    return {}, "L_r"


def setup(ws: Workspace, what: Training) -> str:
    """What a table row's network was trained with: Net_S, loss, schedule and its chain of runs."""
    mcfg, tcfg, _ = _configs(ws, what)
    chain = " -> ".join(("Net_S alone" if t.objective == "STAR-S" and t is not what else
                         "FR alone" if t.objective == "FR" else
                         f"{t.objective} w/o FR" if t.stage else t.objective) for t in stages(ws, what))
    loss = "L_f" if tcfg.perceptual_weight > 0 else "L_r"
    schedule = ws.profile.schedule or "[train]"
    return f"Net_S={mcfg.net_s}; {loss}; schedule {schedule}; {chain}"


def stages(ws: Workspace, what: Training) -> list[Training]:
    """Every run ``what`` starts from, upstream first (each once), then ``what`` itself."""
    chain: list[Training] = []
    for need in _configs(ws, what)[2]:
        chain += [t for t in stages(ws, need) if t not in chain]
    return chain + [what]


def run_name(ws: Workspace, what: Training) -> str:
    """The folder name of ``what``'s run (``<objective>-<hash>``), whether or not it exists yet."""
    mcfg, tcfg, _ = _configs(ws, what)
    return run_id(mcfg, tcfg, training_split(ws.profile)[2])


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


def runs_to_train(ws: Workspace, what: Training, finished: Callable[[str], bool]) -> list[Training]:
    """The runs :func:`train_run` of ``what`` would train, upstream first: ``what`` unless ``finished(its name)``,
    and, for each run trained, the runs it starts from that are not finished."""
    if finished(run_name(ws, what)):
        return []
    todo: list[Training] = []
    for need in _configs(ws, what)[2]:
        todo += [t for t in runs_to_train(ws, need, finished) if t not in todo]
    return todo + [what]


def check_training_allowed(ws: Workspace, what: Training) -> None:
    """Refuse (:class:`starlib.study.shipped_runs.TrainingNotAllowed`) to train a run the profile ships whose
    files are missing, unless the workspace allows training; runs nobody ships train as before."""
    if ws.allow_training:
        return
    shipped = shipped_run_names(ws.profile.name, SHIPPED_RUNS_DIR)
    if not shipped:
        return
    source = SHIPPED_RUNS_DIR / ws.profile.name
    todo = runs_to_train(ws, what, lambda name: any((folder / name / "model.pt").is_file()
                                                    for folder in (ws.runs, source)))
    names = [run_name(ws, t) for t in todo]
    missing = [name for name in names if name in shipped]
    if missing:
        raise refusal(ws.profile.name, missing, [(name, run_configs(ws, t)[1].steps) for name, t in zip(names, todo)],
                      SHIPPED_RUNS_DIR)


def train_run(ws: Workspace, what: Training) -> RunResult:
    """Train (or reuse) ``what`` under the workspace's profile, on its device; the runs it starts from (a
    finetune's parent, the stages of the staged recipe) are trained first when they are not finished."""
    profile = ws.profile
    mcfg, tcfg, needs = _configs(ws, what)
    check_training_allowed(ws, what)
    if not install_shipped(ws, run_name(ws, what)):
        for need in needs:
            if not (ws.runs / run_name(ws, need) / "model.pt").is_file():
                train_run(ws, need)
    windows, held_out, tag = training_split(profile)
    data = RandomCropWindows(windows, patch=tcfg.patch, scale=mcfg.scale, samples_per_epoch=10**9,
                             flow_cache=ws.flows, flow_on=tcfg.inputs, seed=tcfg.seed, static_prob=tcfg.static_items)
    per_forward = tcfg.micro_batch or tcfg.batch_size
    if tcfg.patch == 0 and per_forward > 1 and len(data.frame_sizes) > 1:
        sizes = ", ".join(f"{w}x{h}" for h, w in sorted(data.frame_sizes)[:4])
        raise ConfigError(f"{profile.path or profile.name} [train]: patch = 0 trains {what.objective} on whole "
                          f"frames, but its training frames come in {len(data.frame_sizes)} sizes ({sizes}, ...), "
                          f"which cannot share a batch of {per_forward}; set patch (e.g. 32) or micro_batch = 1")
    scored = objective_record(what.objective).scored
    every = profile.validation.every if held_out and scored and mcfg.scale == profile.scale else 0
    validator = Validation(ws, held_out, what.objective) if every else None
    return train(mcfg, tcfg, data, tag, runs_dir=ws.runs, progress=ws.progress, device=ws.device,
                 validator=validator, validate_every=every)
