"""Recipes: a profile, an objective and a network variant give the data and the configs of a training, and the
stages it starts from (:mod:`starlib.study.trainings.plans` puts them together into one plan per run).

Used by every table and notebook and by ``python -m starlib train``. The ``smoke`` and ``cpu`` profiles train
on the embedded real clips (DAVIS triplets, the TOFlow clip); a profile with ``[data] train_data =
"vimeo90k"`` trains on Vimeo90K triplets from ``[data] vimeo_root``. Test sets: Middlebury "other" and UCF101.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlib.data import Window, davis_triplets, frame_folder, middlebury_other, sliding_windows, ucf101_dvf, vimeo90k
from starlib.data.packaged_video import packaged_windows
from starlib.data.sources import toflow_frames
from starlib.models import STARConfig
from starlib.paper.objectives import Objective
from starlib.paper.objectives import objective as objective_record
from starlib.study.setup.profile import Profile
from starlib.train import TrainConfig
from starlib.train.losses import VGGWeightsMissing, find_vgg19_weights

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

    @property
    def record(self) -> Objective:
        """The objective's record (outputs scored, inputs, parent: :mod:`starlib.paper.objectives`)."""
        return objective_record(self.objective)


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
    return profile.train.objectives["STAR"].steps + profile.train.objectives["STAR-S"].steps


def _net_s_training(profile: Profile, variant: Mapping[str, Any]) -> Training:
    star_lr = profile.train.objectives["STAR"].lr
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
    star_lr = profile.train.objectives["STAR"].lr
    variant = {**_changed(profile, cfg, ("scale", *FR_FIELDS)), "fr_only": True, "flow_refine": True,
               "use_flow": True}
    return Training("FR", variant, {"steps": profile.stages.fr_steps, "lr": star_lr}, from_parent=False)


#: The paper's two losses as TrainConfig.perceptual_weight (eqs. 16-17).
LOSSES = {"L_r": 0.0, "L_f": 0.1}


def loss_overrides(profile: Profile, loss: str) -> tuple[dict[str, Any], str]:
    """``(TrainConfig overrides, what runs)`` for the paper's loss ``loss``: L_f needs VGG19 ImageNet weights;
    without them the run keeps L_r and the returned description says so."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
    if loss == "L_f":
        try:
            find_vgg19_weights(profile.train.objectives["STAR"].vgg_weights or None)
        except VGGWeightsMissing:
            return {}, "L_r (L_f asked for; VGG19 ImageNet weights missing)"
        return {"perceptual_weight": LOSSES["L_f"]}, "L_f"
    return {}, "L_r"
