"""What a run is: its configs (:class:`TrainConfig` with the network's :class:`STARConfig`), its data and its name.

A run's name is ``<objective>-<hash>`` where the hash covers the model and training configs and the data tag
(:func:`run_id`), so a notebook that needs a trained model reuses a finished run instead of training again.
Where the run lives on disk is :mod:`starlib.train.run_folder`; how it is trained, :mod:`starlib.train.loop`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from starlib.models import STARConfig, STARnet
from starlib.paper.objectives import OBJECTIVES, PRETRAINING
from starlib.paper.objectives import objective as objective_record
from starlib.util.config import ConfigError, sparse_asdict
from starlib.util.hashing import file_sha256

from .init import PART_FIELDS, is_run_name

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
    def milestone_steps(self) -> list[int]:
        """The steps after which the learning rate is multiplied by ``lr_gamma``."""
        return sorted({max(1, round(m * self.steps)) for m in self.lr_milestones})

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


#: TrainConfig fields that change how a run is computed, never what: left out of run names.
NOT_IN_RUN_NAME = ("loader_workers", "compile", "adamax")


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
            train[name] = "sha256:" + file_sha256(source)
    blob = json.dumps({"model": model_cfg.to_dict(), "train": train, "data": data_tag}, sort_keys=True).encode()
    return f"{train_cfg.objective}-{hashlib.sha256(blob).hexdigest()[:10]}"


@dataclass
class RunResult:
    """A trained (or reused) run: its model, folder, log rows and training time."""

    model: STARnet
    run_dir: Path
    log: list[dict] = field(default_factory=list)
    reused: bool = False
    wall_time_s: float = 0.0
    val: list[dict] = field(default_factory=list)   # rows of val.csv (step plus the validator's columns)


@dataclass(frozen=True)
class Run:
    """One training run: the network, the optimisation, the data (by its tag) and the runs folder it lives in;
    ``name`` is :func:`run_id` of the three, computed once."""

    model: STARConfig
    train: TrainConfig
    data_tag: str
    runs_dir: Path
    name: str

    @classmethod
    def of(cls, model_cfg: STARConfig, train_cfg: TrainConfig, data_tag: str, runs_dir: str | Path) -> Run:
        return cls(model_cfg, train_cfg, data_tag, Path(runs_dir), run_id(model_cfg, train_cfg, data_tag))

    @property
    def dir(self) -> Path:
        """The run's folder (``runs_dir/name``)."""
        return self.runs_dir / self.name

    def config_json(self, git_commit: str | None) -> dict[str, Any]:
        """What ``config.json`` records about the run."""
        return {"model": self.model.to_dict(), "train": self.train.to_dict(), "data": self.data_tag,
                "git_commit": git_commit}
