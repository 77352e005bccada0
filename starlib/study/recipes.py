"""Recipes: a profile plus a variant name give the data, the network config and the training config.

Used by the notebooks (which stay thin) and by ``python -m starlib.train``. The training data of the
``smoke`` and ``cpu`` profiles are the embedded real clips (DAVIS triplets, the TOFlow clip); the ``paper``
profile trains on Vimeo90K triplets from ``[data] vimeo_root``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlib.data import RandomCropWindows, Window, davis_triplets, frame_folder, sliding_windows, vimeo90k
from starlib.data.sources import data_root
from starlib.flow import FlowCache
from starlib.models import STARConfig
from starlib.study.profile import Profile
from starlib.util.paths import REPO_ROOT
from starlib.train import RunResult, TrainConfig, train

#: Finetunes start from the STAR model of the same network (paper section 3.2).
FINETUNES = ("STAR-ST", "STAR-S", "STAR-T_LR", "STAR-T_HR")


def training_windows(profile: Profile, length: int = 3) -> tuple[list[Window], str]:
    """Windows of ``length`` consecutive frames for training, and a tag naming the data."""
    data = profile.sections.get("data", {})
    if data.get("vimeo_root") is not None and profile.name == "paper":
        windows = vimeo90k(data["vimeo_root"], "train", "triplet" if length == 3 else "septuplet")
        return windows, f"vimeo90k-{'tri' if length == 3 else 'sep'}-train:{len(windows)}"
    clip = frame_folder(data_root() / "train" / "toflow_clip" / "frames", "toflow")
    windows = sliding_windows(clip, length)
    if length == 3:
        windows = davis_triplets() + windows
    limit = data.get("max_train_windows", 0)
    windows = windows[:limit] if limit else windows
    return windows, f"davis+toflow-w{length}:{len(windows)}"


def flow_cache(profile: Profile, cache_dir: str | Path | None = None) -> FlowCache:
    return FlowCache(cache_dir or REPO_ROOT / "cache" / "flows", profile.sections["flow"]["backend"])


def train_config(profile: Profile, objective: str, **overrides: Any) -> TrainConfig:
    """``[train]`` of the profile, then ``[train.finetune]`` (finetunes), then ``[train."<objective>"]``,
    then ``overrides``."""
    section = {k: v for k, v in profile.sections.get("train", {}).items() if not isinstance(v, dict)}
    tables = {k: v for k, v in profile.sections.get("train", {}).items() if isinstance(v, dict)}
    if objective in FINETUNES:
        section.update(tables.get("finetune", {}))
    section.update(tables.get(objective, {}))
    section.update(overrides)
    if objective == "STAR-T_HR":
        section["inputs"] = "hr"
    for key in ("betas", "lr_milestones"):
        if key in section:
            section[key] = tuple(section[key])
    return TrainConfig(objective=objective, **section)


def model_config(profile: Profile, **variant: Any) -> STARConfig:
    return profile.model.replace(**variant)


def train_model(profile: Profile, objective: str = "STAR", variant: dict[str, Any] | None = None,
                runs_dir: str | Path | None = None, cache_dir: str | Path | None = None, progress: bool = True,
                init_objective: str | None = "STAR", device: str = "cpu", **overrides: Any) -> RunResult:
    """Train (or reuse) ``objective`` on the profile's data with the network ``profile.model + variant``.

    Finetunes first obtain the STAR run of the same network (trained here if missing) and start from it.
    """
    variant = dict(variant or {})
    mcfg = model_config(profile, **variant)
    runs_dir = Path(runs_dir) if runs_dir else REPO_ROOT / "runs" / profile.name
    if objective in FINETUNES and init_objective and "init_from" not in overrides:
        base = train_model(profile, init_objective, variant, runs_dir, cache_dir, progress, init_objective=None,
                           device=device)
        overrides["init_from"] = str(base.run_dir / "model.pt")
    tcfg = train_config(profile, objective, **overrides)
    windows, tag = training_windows(profile)
    data = RandomCropWindows(windows, patch=tcfg.patch, scale=mcfg.scale, samples_per_epoch=10**9,
                             flow_cache=flow_cache(profile, cache_dir), flow_on=tcfg.inputs, seed=tcfg.seed)
    return train(mcfg, tcfg, data, tag, runs_dir=runs_dir, progress=progress, device=device)
