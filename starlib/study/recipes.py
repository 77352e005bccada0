"""Recipes: a profile, an objective and a network variant give the data, the configs and the runs to train.

Used by every table and notebook and by ``python -m starlib train``. The ``smoke`` and ``cpu`` profiles train
on the embedded real clips (DAVIS triplets, the TOFlow clip); a profile with ``[data] train_data =
"vimeo90k"`` trains on Vimeo90K triplets from ``[data] vimeo_root``. Test sets: Middlebury "other" and UCF101.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlib.data import RandomCropWindows, Window, davis_triplets, frame_folder, middlebury_other, sliding_windows
from starlib.data import ucf101_dvf, vimeo90k
from starlib.data.sources import data_root
from starlib.models import STARConfig
from starlib.paper.objectives import objective as objective_record
from starlib.study.profile import Profile
from starlib.study.workspace import Workspace
from starlib.train import RunResult, TrainConfig, train

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


def training_windows(profile: Profile, length: int = 3) -> tuple[list[Window], str]:
    """Windows of ``length`` consecutive frames for training, and a tag naming the data (part of run names)."""
    data = profile.data
    if data.train_data == "vimeo90k":
        if not data.vimeo_root:
            raise FileNotFoundError(f"{profile.path or profile.name}: [data] train_data = \"vimeo90k\" needs "
                                    f"[data] vimeo_root, the folder holding sequences/ and the list files")
        kind = "triplet" if length == 3 else "septuplet"
        windows = vimeo90k(data.vimeo_root, "train", kind)
        return windows, f"vimeo90k-{kind[:3]}-train:{len(windows)}"
    clip = frame_folder(data_root() / "train" / "toflow_clip" / "frames", "toflow")
    windows = sliding_windows(clip, length)
    if length == 3:
        windows = davis_triplets() + windows
    if data.max_train_windows:
        windows = windows[:data.max_train_windows]
    return windows, f"davis+toflow-w{length}:{len(windows)}"


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
    """``[train]``, then ``[train.finetune]`` (finetunes), then ``[train."<objective>"]``, then ``overrides``."""
    return profile.train.config(objective, where=str(profile.path or profile.name), **overrides)


def net_s_alone(profile: Profile, name: str) -> Training:
    """Net_S trained alone for S-SR (DBPN, DBPN-MI, RBPN): STAR's steps plus the finetune's, at STAR's
    learning rate, from scratch."""
    star, finetune = profile.train.fields("STAR"), profile.train.fields("STAR-S")
    steps = int(star.get("steps", TrainConfig.steps)) + int(finetune.get("steps", TrainConfig.steps))
    return Training("STAR-S", NET_S_ALONE[name], {"steps": steps, "lr": float(star.get("lr", TrainConfig.lr))},
                    from_parent=False)


def train_run(ws: Workspace, what: Training) -> RunResult:
    """Train (or reuse) ``what`` under the workspace's profile, on its device; a finetune first obtains its
    parent's run."""
    profile = ws.profile
    overrides = dict(what.overrides)
    if ws.seed is not None:
        overrides.setdefault("seed", ws.seed)
    parent = objective_record(what.objective).parent
    if parent and what.from_parent and "init_from" not in overrides:
        base = train_run(ws, Training(parent, what.variant, {k: v for k, v in overrides.items() if k == "seed"}))
        overrides["init_from"] = base.run_dir.name
    mcfg = model_config(profile, what.variant)
    tcfg = train_config(profile, what.objective, **overrides)
    windows, tag = training_windows(profile)
    data = RandomCropWindows(windows, patch=tcfg.patch, scale=mcfg.scale, samples_per_epoch=10**9,
                             flow_cache=ws.flows, flow_on=tcfg.inputs, seed=tcfg.seed)
    return train(mcfg, tcfg, data, tag, runs_dir=ws.runs, progress=ws.progress, device=ws.device)
