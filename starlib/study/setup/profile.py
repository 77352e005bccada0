"""Profiles (``smoke``, ``cpu``, ``gpu``, ``paper``) are TOML data files in ``starlib/study/profiles/``.

Each table of a file becomes a typed, validated dataclass below: a key that is not a field is an error naming
the key and the file, and so is a value of the wrong type. Code reads settings only from these objects, never
by the profile's name.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from starlib.models.config import STARConfig
from starlib.flow import BACKENDS
from starlib.paper.objectives import FINETUNES, OBJECTIVES, objective
from starlib.train import TrainConfig
from starlib.util.config import ConfigError, TomlValue, build, check_keys
from starlib.util.paths import from_repo

PROFILE_DIR = Path(__file__).resolve().parents[1] / "profiles"   # starlib/study/profiles/
TEST_BENCHMARKS = ("middlebury", "ucf101")
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Sections a profile cannot do without (an empty file would otherwise train the paper's network for days).
REQUIRED = ("model", "data", "train")
#: The most output pixels one training forward may produce (items per forward x HR patch area): 64 M, 60 times
#: the paper's (10 full 256x448 frames); more ends in an allocation no machine has.
MAX_FORWARD_PIXELS = 2**26


def _non_negative(obj: object, *names: str) -> None:
    bad = [f"{n} = {getattr(obj, n)}" for n in names if getattr(obj, n) < 0]
    if bad:
        raise ConfigError(f"{', '.join(bad)}: must be >= 0 (0 = all / off)")


def _benchmarks(name: str, values: tuple[str, ...]) -> None:
    unknown = [v for v in values if v not in TEST_BENCHMARKS]
    if unknown:
        raise ConfigError(f"{name} names unknown benchmarks {unknown}; choose from {list(TEST_BENCHMARKS)}")


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def check_profile_name(name: object) -> str:
    """``name`` if it can name a profile (letters, digits, ``_`` and ``-``: never a path), else a
    :class:`ConfigError` listing the profiles. Every entry point passes through it (:func:`load_profile`,
    :func:`parse_profile`, :class:`Profile`), so a notebook parameter like ``../../x`` neither reads a file
    outside ``profiles/`` nor creates a folder outside ``results/``, ``figures/`` or ``runs/``."""
    if not isinstance(name, str) or not PROFILE_NAME.fullmatch(name):
        raise ConfigError(f"profile {name!r} is not a profile name (letters, digits, _ and - only, no path); choose "
                          f"one of {available_profiles()} (files in {PROFILE_DIR})")
    return name


@dataclass(frozen=True)
class DataSettings:
    """``[data]``: which data the profile trains and tests on."""

    max_test_items: int = 0               # per benchmark (0 = all)
    max_train_windows: int = 0            # embedded training windows (0 = all)
    train_data: str = "embedded"          # "embedded" (DAVIS triplets + the TOFlow clip) | "vimeo90k"
    vimeo_root: str = ""                  # folder with vimeo_triplet/ (and vimeo_septuplet/); "" = not available;
                                          # a relative path is taken from the repository root
    vimeo_test: bool = False              # also score every table on the Vimeo90K triplet test list (the
                                          # authors' tri_testlist.txt under vimeo_root: 3,782 items), as the paper
    packaged_video: tuple[str, ...] = ()  # real clips from registry packages added to the embedded training
                                          # windows (starlib.data.packaged_video.CLIPS); () = off, run names as before

    def __post_init__(self) -> None:
        from starlib.data.packaged_video import CLIPS

        _non_negative(self, "max_test_items", "max_train_windows")
        unknown = [c for c in self.packaged_video if c not in CLIPS]
        if unknown or len(set(self.packaged_video)) < len(self.packaged_video):
            raise ConfigError(f"packaged_video = {list(self.packaged_video)}: give distinct clips among {sorted(CLIPS)}")
        if self.packaged_video and self.train_data != "embedded":
            raise ConfigError("packaged_video adds clips to the embedded training data: use train_data = \"embedded\"")
        if self.train_data not in ("embedded", "vimeo90k"):
            raise ConfigError(f"train_data must be 'embedded' or 'vimeo90k', got {self.train_data!r}")


@dataclass(frozen=True)
class ValidationSettings:
    """``[validation]``: a fixed split carved out of the training clips (never a test set), scored while a run
    trains so that its curve shows whether and when the model learned."""

    windows: int = 0          # training windows held out (the last DAVIS triplets, or the last Vimeo90K
                              # training triplets); 0 = no validation
    every: int = 0            # score them every this many steps (and before the first and after the last)
    crop: int = 0             # centre crop in LR px (0 = whole frames)
    NUMBER_RANGES: ClassVar[dict[str, tuple[float, float]]] = {"crop": (0, 4096)}

    def __post_init__(self) -> None:
        _non_negative(self, "windows", "every", "crop")
        if self.windows and not self.every:
            raise ConfigError(f"windows = {self.windows} are held out of training but every = 0 never scores "
                              f"them: set every (steps) or windows = 0")


@dataclass(frozen=True)
class Schedule:
    """``[schedules.<name>]``: one reading of the learning-rate schedule, laid over ``[train]`` (first-trained
    runs) and ``[train.finetune]`` when the profile's ``schedule`` names it (README "Schedules")."""

    description: str = ""
    steps: int = 0                                 # first-trained runs (STAR; the stages keep their own)
    lr_milestones: tuple[float, ...] = ()          # fractions of the run where the learning rate drops 10x
    finetune_steps: int = 0
    finetune_milestones: tuple[float, ...] = ()
    NUMBER_RANGES: ClassVar[dict[str, tuple[float, float]]] = {"lr_milestones": (1e-9, 1 - 1e-9),
                                                               "finetune_milestones": (1e-9, 1 - 1e-9)}

    def __post_init__(self) -> None:
        _non_negative(self, "steps", "finetune_steps")
        for name in ("lr_milestones", "finetune_milestones"):
            if not all(0 < m < 1 for m in getattr(self, name)):
                raise ConfigError(f"{name} are fractions of the run in (0, 1), got {list(getattr(self, name))}")

    def train_fields(self) -> tuple[dict[str, TomlValue], dict[str, TomlValue]]:
        """``([train] fields, [train.finetune] fields)`` this reading sets."""
        base = {k: v for k, v in (("steps", self.steps), ("lr_milestones", list(self.lr_milestones))) if v}
        fine = {k: v for k, v in (("steps", self.finetune_steps), ("lr_milestones", list(self.finetune_milestones)))
                if v}
        return base, fine


@dataclass(frozen=True)
class StagesSettings:
    """``[stages]``: the authors' staged recipe (spec 6.1 and 8; README "Staged training"), each stage its own
    run, shared by every table that needs it: (a) Net_S trained alone for S-SR (the run Table 8 reports);
    (b) the flow-refinement U-Net trained alone on the FR targets; (c) the network without FR, Net_S from (a);
    (d) the network with FR, from (c) and (b), for STAR's own ``[train]`` steps. A network without FR (the
    ablations "w/o FR", "w/o Flow") continues (c) for the same steps without FR, so every row of Table 1 has
    the same schedule. Finetunes start from (d)."""

    net_s: bool = False          # (a) on
    net_s_steps: int = 0         # steps of (a), the same runs as Table 8's Net_S (0 = STAR's plus a finetune's)
    net_s_file: str = ""         # Net_S from this file instead of (a): the authors' rbpn_pretrained_F2_4x.pth
    fr: bool = False             # (b)-(d) on
    fr_steps: int = 300          # steps of (b)
    fr_file: str = ""            # the U-Net from this file instead of (b): the authors' flow_refinement.pth
    core_steps: int = 0          # steps of (c) (0 = STAR's)

    def __post_init__(self) -> None:
        _non_negative(self, "net_s_steps", "fr_steps", "core_steps")
        if self.fr and not self.fr_file and not self.fr_steps:
            raise ConfigError("fr = true trains the U-Net alone for fr_steps steps: set fr_steps >= 1 or fr_file")


@dataclass(frozen=True)
class FlowSettings:
    """``[flow]``: the flow backend every notebook uses, and what notebook 01 measures."""

    backend: str = "dis_medium"
    benchmark_backends: tuple[str, ...] = ()   # () = every backend
    benchmark_sources: int = 4                 # real frames resampled under known motion
    benchmark_hr: bool = True                  # also time/score at 256x448 (HR-input tasks)
    NUMBER_RANGES: ClassVar[dict[str, tuple[float, float]]] = {"benchmark_sources": (0, 1000)}

    def __post_init__(self) -> None:
        unknown = [b for b in (self.backend, *self.benchmark_backends) if b not in BACKENDS]
        if unknown:
            raise ConfigError(f"unknown flow backends {unknown}; choose from {sorted(BACKENDS)}")


@dataclass(frozen=True)
class EvalSettings:
    """``[eval]``: how trained networks are scored."""

    tile_lr: int = 0                     # tile size in LR px for LR-input models (0 = whole frames)
    tile_hr: int = 128                   # tile size in input px for HR-input models (STAR-T_HR)
    max_items_hr_inputs: int = 0         # per benchmark, for HR-input models (0 = all; 16x the pixels)
    hr_input_benchmarks: tuple[str, ...] = TEST_BENCHMARKS   # benchmarks scored for HR-input models
    NUMBER_RANGES: ClassVar[dict[str, tuple[float, float]]] = {"tile_lr": (0, 4096), "tile_hr": (0, 4096)}

    def __post_init__(self) -> None:
        _non_negative(self, "tile_lr", "tile_hr", "max_items_hr_inputs")
        _benchmarks("hr_input_benchmarks", self.hr_input_benchmarks)

    def tile(self, inputs: str) -> int:
        return self.tile_hr if inputs == "hr" else self.tile_lr


@dataclass(frozen=True)
class TrainSettings:
    """``[train]``: TrainConfig fields for every run, then ``[train.finetune]`` for finetunes, then
    ``[train."<objective>"]`` for one objective (each a table of TrainConfig fields).

    The three layers keep what the profile sets, as it sets it (recipes add their own settings on top, and run
    names hash only what differs from the defaults); :attr:`objectives` holds each objective's validated
    :class:`TrainConfig` built from them once, which is what code reads (``settings.objectives["STAR"].lr``)."""

    base: dict[str, TomlValue] = field(default_factory=dict)
    finetune: dict[str, TomlValue] = field(default_factory=dict)
    per_objective: dict[str, dict[str, TomlValue]] = field(default_factory=dict)
    where: str = field(default="profile", compare=False, repr=False)   # names the profile in errors
    #: objective name -> its TrainConfig before a recipe's own settings (built and validated on creation)
    objectives: dict[str, TrainConfig] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "objectives", {name: self.config(name, where=self.where) for name in OBJECTIVES})

    @classmethod
    def from_toml(cls, data: dict[str, TomlValue], where: str) -> TrainSettings:
        base = {k: v for k, v in data.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in data.items() if isinstance(v, dict)}
        unknown = sorted(set(tables) - {"finetune", *OBJECTIVES})
        if unknown:
            raise ConfigError(f"{where}: unknown table(s) {unknown} under [train]; known: finetune and the "
                             f"objectives {sorted(OBJECTIVES)}")
        for key in ("objective", "inputs", "init_from", "init_net_s", "init_flow_net"):  # the recipes' (see [stages])
            for name, table in (("train", base), *((f"train.{k}", v) for k, v in tables.items())):
                if key in table:
                    raise ConfigError(f"{where}: [{name}] sets {key!r}, which the recipes choose per run")
        for name, table in (("train", base), *((f"train.{k}", v) for k, v in tables.items())):
            check_keys(TrainConfig, table, f"{where} [{name}]")
        # building it builds each objective's config once: wrong types fail at load time, naming the profile
        return cls(base, tables.get("finetune", {}), {k: v for k, v in tables.items() if k != "finetune"}, where)

    def fields(self, objective_name: str) -> dict[str, TomlValue]:
        """The merged TrainConfig fields one objective's profile layers set (before the recipe's own settings);
        sparse: a field left at its default is absent. Read values from :attr:`objectives` instead."""
        merged = dict(self.base)
        if objective_name in FINETUNES:
            merged.update(self.finetune)
        merged.update(self.per_objective.get(objective_name, {}))
        return merged

    def config(self, objective_name: str, where: str = "profile", **overrides: TomlValue) -> TrainConfig:
        """The validated TrainConfig of one objective with a recipe's ``overrides`` on top of the profile's
        fields."""
        fields = {**self.fields(objective_name), **overrides,
                  "objective": objective_name, "inputs": objective(objective_name).inputs}
        return build(TrainConfig, fields, f"{where} [train] for {objective_name}")


@dataclass(frozen=True)
class TablesSettings:
    """``[tables]``: settings of the table notebooks (07-11)."""

    t5_crop: tuple[int, int] = (256, 256)        # HR crop of the five-frame windows of Table 5
    t5_max_windows: int = 0                      # 0 = all
    t9_cross_benchmarks: tuple[str, ...] = TEST_BENCHMARKS  # where STAR and STAR-T_LR are scored with HR inputs
    t46_objective: str = "STAR-ST"               # objective of the Table 4 and 6 networks (the paper's STAR-ST)
    ablation_max_items: int = 0                  # Tables 1, 4, 6: items per test set (0 = all)
    t12_net_s: str = "rbpn"                      # Net_S of the Table 1-2 networks (paper: "dbpn")
    t12_loss: str = "L_r"                        # their loss (paper: "L_f"; L_r where VGG19 weights are absent)
    t7_star_loss: str = "L_r"                    # loss of Table 7's STAR row (paper: "L_f", its "STAR-L_f")
    published_rows: bool = False                 # Tables 7-10: rows of BasicVSR / RIFE from their published weights
                                                 # (docs/published_models.md; needs requirements-published.txt)
    NUMBER_RANGES: ClassVar[dict[str, tuple[float, float]]] = {"t5_crop": (8, 8192)}

    def __post_init__(self) -> None:
        objective(self.t46_objective)
        if self.t12_net_s not in ("rbpn", "dbpn"):
            raise ConfigError(f"t12_net_s = {self.t12_net_s!r}: use \"rbpn\" or \"dbpn\"")
        for name in ("t12_loss", "t7_star_loss"):
            if getattr(self, name) not in ("L_r", "L_f"):
                raise ConfigError(f"{name} = {getattr(self, name)!r}: use \"L_r\" or \"L_f\"")
        _non_negative(self, "t5_max_windows", "ablation_max_items")
        _benchmarks("t9_cross_benchmarks", self.t9_cross_benchmarks)
        if min(self.t5_crop) < 8:
            raise ConfigError(f"t5_crop = {list(self.t5_crop)}: HR crops need at least 8 px a side")


@dataclass(frozen=True)
class ZSMSettings:
    """``[zsm]``: the ZSM-protocol table (notebook 14, ``starlib.study.tables.table_zsm``). With no Vid4 or Vimeo path
    the embedded TOFlow clip is scored."""

    vid4_root: str = ""                  # Vid4 folder (GT/<clip>/, HR/<clip>/ or <clip>/); "" = not available
    vid4_lr_root: str = ""               # given LR frames (e.g. "BIx4" under vid4_root); "" = made by lr_method
    vimeo_septuplet_root: str = ""       # folder holding sequences/<folder>/<clip>/im1..7.png; "" = not available
    vimeo_lists: tuple[str, ...] = ("fast", "medium", "slow")
    max_clips: int = 0                   # per data set (0 = all)
    max_windows: int = 0                 # per clip (0 = all)
    crop: tuple[int, int] = (0, 0)       # HR centre crop (h, w); 0 = whole frames (the protocol)
    lr_method: str = "pil"               # LR made from HR: "pil" (STARnet's training LR) or "matlab" (ZSM's)
    vid4_lr_methods: tuple[str, ...] = ()  # Vid4 scored once per LR method ("matlab" -> 'vid4', else 'vid4_<m>'); () = (lr_method,)
    key_frames: str = "second"           # default prediction of frames 3 and 5: first | second | mean
    tail_window: bool = True             # TMNet's last window ending at the clip's last frame (False: ZSM's)
    methods: tuple[str, ...] = ()        # rows to run (labels of starlib.study.tables.table_zsm.Z); () = all
    item_level: str = "frame"            # table_zsm_items.csv rows: "frame" or "window" (means of a window)
    NUMBER_RANGES: ClassVar[dict[str, tuple[float, float]]] = {"crop": (0, 8192)}

    def __post_init__(self) -> None:
        from starlib.data.degrade import LR_METHODS
        from starlib.data.septuplets import VIMEO_LISTS
        from starlib.evaluation.zsm import KEY_FRAME_CHOICES

        if self.lr_method not in LR_METHODS:
            raise ConfigError(f"lr_method must be one of {LR_METHODS}, got {self.lr_method!r}")
        if set(self.vid4_lr_methods) - set(LR_METHODS) or len(set(self.vid4_lr_methods)) < len(self.vid4_lr_methods):
            raise ConfigError(f"vid4_lr_methods must be distinct values among {LR_METHODS}, got {list(self.vid4_lr_methods)}")
        if self.key_frames not in KEY_FRAME_CHOICES:
            raise ConfigError(f"key_frames must be one of {KEY_FRAME_CHOICES}, got {self.key_frames!r}")
        if set(self.vimeo_lists) - set(VIMEO_LISTS):
            raise ConfigError(f"vimeo_lists must be among {VIMEO_LISTS}, got {list(self.vimeo_lists)}")
        if self.item_level not in ("frame", "window"):
            raise ConfigError(f"item_level must be 'frame' or 'window', got {self.item_level!r}")
        if min(self.crop) < 0 or self.max_clips < 0 or self.max_windows < 0:
            raise ConfigError("crop, max_clips and max_windows must be >= 0")


@dataclass(frozen=True)
class ReleasedSettings:
    """``[released]``: the authors' released STARnet files (docs/published_models.md), at most one per objective,
    e.g. ``"STAR-ST" = "weights/FBPNSR_RBPN_V4_REF_Lr_STAR_ST.pth"``. Evaluation only: the rows of Tables 2 and
    7-10 and of Table ZSM that score an objective's own network score that file's network instead of training
    it (:mod:`starlib.study.trainings.released`); its paper-width config comes from the file, never from ``[model]``.
    Every other run (the Net_S-alone cascades, the ablations) is trained as usual. Empty: nothing released."""

    files: dict[str, str] = field(default_factory=dict)   # objective -> file (resolved from the repository)

    def file(self, objective_name: str) -> str:
        """The file named for ``objective_name``, or ``""``."""
        return self.files.get(objective_name, "")

    @classmethod
    def from_toml(cls, data: TomlValue, where: str) -> ReleasedSettings:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: [released] is a table of objective = \"file\" lines")
        unknown = sorted(set(data) - set(OBJECTIVES))
        if unknown:
            raise ConfigError(f"{where}: [released] names unknown objective(s) {unknown}; known: "
                              f"{', '.join(f'{o!r}' for o in OBJECTIVES)}")
        files = {}
        for name, value in data.items():
            if not isinstance(value, str):
                raise ConfigError(f"{where}: [released] {name!r} = {value!r}: give the file's path as a string")
            if value:
                files[name] = _weights_file(where, f"[released] {name!r}", value)
        return cls(files)


def _weights_file(where: str, key: str, value: str) -> str:
    """``value`` resolved from the repository; a ConfigError naming the profile and the key when it is no file."""
    resolved = from_repo(value)
    if not Path(resolved).is_file():
        raise ConfigError(f"{where}: {key} = {value!r}: {resolved} does not exist; give the path of the weights "
                          f"file (absolute, or relative to the repository) or remove the key")
    return resolved


@dataclass(frozen=True)
class ScalingSettings:
    """``[scaling]``: the budgets of the claims-against-compute study (``starlib.study.tables.scaling``, notebook 15),
    as multipliers k of every step count of the chains a claim group needs (k = 1: the profile itself)."""

    #: The claim groups, each a list of budgets in the section (``video`` and ``replicates``: the central group
    #: with more training video, with other training seeds).
    GROUPS = ("central", "ablations", "video", "replicates")

    central: tuple[float, ...] = (1.0,)      # Table 7 (STAR-ST vs the cascades) and Table 2 (STAR-ST vs STAR)
    ablations: tuple[float, ...] = (1.0,)    # Table 1 (stage 2, flow, FR), Table 4 (Net_S), Table 6 (T-SR paths)
    video: tuple[float, ...] = ()            # the data axis: the central group with video_clips added to the
                                             # training data ([data] packaged_video); () = not run
    video_clips: tuple[str, ...] = ("bigbuckbunny", "bikes")
    replicates: tuple[float, ...] = ()       # run-to-run spread: the central group retrained at these budgets (each
    replicate_seeds: tuple[int, ...] = ()    # one of central's) with each of these training seeds; () = not run
    notebook_trains: bool = True             # notebook 15 (so `make reproduce`) trains the budgets not yet trained;
                                             # false: it scores and collects only (train with python -m starlib scaling)

    def __post_init__(self) -> None:
        from starlib.data.packaged_video import CLIPS

        for name in self.GROUPS:
            values = getattr(self, name)
            if (not values and name in ("central", "ablations")) or any(not 0 < k <= 1024 for k in values) \
                    or len(set(values)) < len(values):
                raise ConfigError(f"{name} = {list(values)}: give one or more distinct budget multipliers k in "
                                  f"(0, 1024], e.g. [0.5, 1, 2]")
        if not self.video_clips or set(self.video_clips) - set(CLIPS):
            raise ConfigError(f"video_clips = {list(self.video_clips)}: choose among {sorted(CLIPS)}")
        outside = sorted(set(self.replicates) - set(self.central))
        if outside:
            raise ConfigError(f"replicates = {list(self.replicates)}: {outside} not in central = {list(self.central)}; "
                              f"a replicate is compared with the central point at its budget")
        seeds = self.replicate_seeds
        if bool(self.replicates) != bool(seeds) or any(s < 0 for s in seeds) or len(set(seeds)) < len(seeds):
            raise ConfigError(f"replicates = {list(self.replicates)}, replicate_seeds = {list(seeds)}: give both or "
                              f"neither; the seeds distinct and >= 0, other than [train] seed, e.g. [124, 125]")

    def budgets(self, group: str) -> tuple[float, ...]:
        """The group's budgets, smallest first."""
        if group not in self.GROUPS:
            raise ConfigError(f"unknown scaling group {group!r}; choose one of {list(self.GROUPS)}")
        return tuple(sorted(getattr(self, group)))


@dataclass(frozen=True)
class Profile:
    """A named, validated set of settings. ``model`` is the STARConfig of the profile's main network."""

    name: str
    description: str
    model: STARConfig
    data: DataSettings = DataSettings()
    flow: FlowSettings = FlowSettings()
    eval: EvalSettings = EvalSettings()
    train: TrainSettings = field(default_factory=TrainSettings)   # built on use, not at import
    tables: TablesSettings = TablesSettings()
    validation: ValidationSettings = ValidationSettings()
    zsm: ZSMSettings = ZSMSettings()
    stages: StagesSettings = StagesSettings()
    released: ReleasedSettings = ReleasedSettings()
    scaling: ScalingSettings = ScalingSettings()
    schedule: str = ""                   # the [schedules.<name>] reading laid over [train] ("" = [train] as written)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    device: str = "auto"                 # auto (CUDA when present, else CPU) | cpu | cuda | cuda:N
    path: Path | None = None

    def __post_init__(self) -> None:
        check_profile_name(self.name)

    @property
    def scale(self) -> int:
        return self.model.scale


SECTIONS = {"data": DataSettings, "flow": FlowSettings, "eval": EvalSettings, "tables": TablesSettings,
            "validation": ValidationSettings, "zsm": ZSMSettings, "stages": StagesSettings,
            "scaling": ScalingSettings}


def parse_profile(name: str, data: dict[str, TomlValue], path: Path | None = None,
                  max_parameters: int | None = None) -> Profile:
    """A :class:`Profile` from the parsed TOML ``data``; every error names ``path`` (or ``name``).
    ``max_parameters``: the network's size bound (None: :data:`starlib.models.checkpoint.MAX_PARAMETERS`; the
    entry points pass ``$STARLIB_MAX_PARAMETERS`` when set: :func:`starlib.util.env.max_parameters`)."""
    check_profile_name(name)
    where = str(path or name)
    missing = [key for key in REQUIRED if not isinstance(data.get(key), dict)]
    if missing:
        raise ConfigError(f"{where}: no {', '.join(f'[{key}]' for key in missing)} table; a profile names its "
                          f"network, data and training: copy starlib/study/profiles/smoke.toml as a start")
    unknown = sorted(set(data) - {"description", "device", "model", "train", "schedule", "schedules", "released",
                                  *SECTIONS})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) or table(s) {unknown}; known: description, device, model, "
                         f"train, schedule, schedules, released, {', '.join(SECTIONS)}")
    device = data.get("device", "auto")
    if not isinstance(device, str) or not DEVICE_PATTERN.fullmatch(device):
        raise ConfigError(f"{where}: device = {device!r}; use auto, cpu, cuda or cuda:N")
    model = build(STARConfig, data.get("model", {}), f"{where} [model]")
    sections = {key: build(cls, data.get(key, {}), f"{where} [{key}]") for key, cls in SECTIONS.items()}
    # paths in a profile are relative to the repository
    sections["data"] = dataclasses.replace(sections["data"], vimeo_root=from_repo(sections["data"].vimeo_root))
    stages = sections["stages"]
    for key in ("net_s_file", "fr_file"):                  # weights files: must exist
        value = getattr(stages, key)
        if value:
            stages = dataclasses.replace(stages, **{key: _weights_file(where, f"[stages] {key}", value)})
    sections["stages"] = stages
    schedules_data = data.get("schedules", {})
    if not isinstance(schedules_data, dict) or not all(isinstance(v, dict) for v in schedules_data.values()):
        raise ConfigError(f"{where}: [schedules] holds one table per reading, e.g. [schedules.paper]")
    schedules = {k: build(Schedule, v, f"{where} [schedules.{k}]") for k, v in schedules_data.items()}
    schedule = data.get("schedule", "")
    train_data = data.get("train", {})
    if schedule:
        if schedule not in schedules:
            raise ConfigError(f"{where}: schedule = {schedule!r} is not one of the [schedules] tables "
                             f"{sorted(schedules)}")
        base, fine = schedules[schedule].train_fields()
        finetune = train_data.get("finetune", {})
        twice = sorted({f"[train] {k}" for k in base if k in train_data}
                       | {f"[train.finetune] {k}" for k in fine if k in finetune})
        if twice:
            raise ConfigError(f"{where}: {', '.join(twice)} also set by [schedules.{schedule}]: keep one")
        train_data = {**train_data, **base, "finetune": {**finetune, **fine}}
    train = TrainSettings.from_toml(train_data, where)
    if "steps" not in train_data:
        raise ConfigError(f"{where}: [train] has no steps (nor does a [schedules] reading the profile chooses); "
                          f"set steps = the optimiser steps of the first-trained runs")
    check_size(model, train, where, max_parameters)
    return Profile(name=name, description=str(data.get("description", "")), model=model, device=device,
                   train=train, path=path, schedule=schedule,
                   released=ReleasedSettings.from_toml(data.get("released", {}), where),
                   schedules=schedules, **sections)


def check_size(model: STARConfig, train: TrainSettings, where: str, max_parameters: int | None = None) -> None:
    """Refuse a network above the parameter bound ``max_parameters`` (None: the checkpoints' default; built on
    the meta device: no memory) and a training forward above :data:`MAX_FORWARD_PIXELS` output pixels, before
    anything is allocated."""
    from starlib.models.checkpoint import MAX_PARAMETERS, meta_model

    bound = MAX_PARAMETERS if max_parameters is None else max_parameters

    try:
        n_params = sum(p.numel() for p in meta_model(model).parameters())
    except Exception as exc:  # widths whose products overflow
        raise ConfigError(f"{where} [model]: the network cannot be built ({type(exc).__name__}); use smaller "
                          f"widths") from exc
    if n_params > bound:
        raise ConfigError(f"{where} [model]: the network would have {n_params / 1e6:,.1f} M parameters "
                          f"({4 * n_params / 2**30:,.1f} GiB of float32 weights), above the bound of "
                          f"{bound / 1e6:.1f} M that checkpoints get; use smaller widths or depths (or "
                          f"set STARLIB_MAX_PARAMETERS for a larger model you mean to train)")
    for name in OBJECTIVES:
        cfg = train.config(name, where=where)
        items = cfg.micro_batch or cfg.batch_size
        pixels = items * (model.scale * cfg.patch) ** 2
        if pixels > MAX_FORWARD_PIXELS:
            raise ConfigError(f"{where} [train] for {name}: {items} item(s) per forward of {model.scale * cfg.patch}"
                              f" px HR patches are {pixels / 1e6:,.0f} M output pixels, above the bound of "
                              f"{MAX_FORWARD_PIXELS / 1e6:.0f} M; lower batch_size or patch, or set micro_batch")


def load_profile(name: str, max_parameters: int | None = None) -> Profile:
    """Read ``starlib/study/profiles/<name>.toml``; unknown names raise with the list of known ones.
    ``max_parameters``: as :func:`parse_profile` (the environment is not read here)."""
    path = PROFILE_DIR / f"{check_profile_name(name)}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown profile {name!r}; choose one of {available_profiles()} "
                         f"(files in {PROFILE_DIR})")
    with path.open("rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_profile(name, data, path, max_parameters)
