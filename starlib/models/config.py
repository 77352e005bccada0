"""``STARConfig``: every architectural choice of STARnet, its variants and ablation switches.

Defaults are the paper's widths and the authors' code wherever code and paper differ; each such
difference is a field here and a line in the README ("Paper vs code").
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from starlib.util.config import ConfigError, sparse_asdict

from .blocks import PROJECTION_GEOMETRY
from .flow_refine import CORRECTIONS

NET_S_KINDS = ("rbpn", "dbpn", "dbpn_mi")
TSR_PATHS = ("none", "hr", "lr", "both")
STAGE2_UPDATES = ("sequential", "parallel")
STAGE2_MOTIONS = ("half", "full")
BACKPROJ_ACTS = ("lrelu", "relu")
NET_S_FLOWS = ("target_to_neighbour", "neighbour_to_target")
MID_BASES = ("average", "warp")


@dataclass(frozen=True)
class STARConfig:
    """Configuration of a STARnet. Frozen, JSON-serialisable, validated on construction.

    Widths (paper section 4.1, spec section 1): ``feat`` is c^h (HR feature width, 64), the LR feature
    width c^l is ``2 * feat`` (128), ``base_filter`` (256) is the stem width of Net_S and Net_M.
    """

    # --- widths and depths -----------------------------------------------------------------------
    scale: int = 4                      # spatial factor s (2, 4 or 8)
    base_filter: int = 256              # Net_S / Net_M stem width
    feat: int = 64                      # c^h; c^l = 2 * feat
    motion_feat: int = 64               # width of M (c_m)
    num_stages: int = 3                 # up-projection units of Net_S's back-projection stack
    n_resblock: int = 5                 # ResBlocks in Net_S branches, Net_ST LR->HR path, Net_F, Net_B
    netm_resblocks: int = 2             # ResBlocks in Net_M
    netd_resblocks: int = 2             # ResBlocks in Net_D
    tsr_lr_resblocks: int = 2           # ResBlocks in the LR T-SR path
    # --- Net_S -----------------------------------------------------------------------------------
    net_s: str = "rbpn"                 # "rbpn" (authors' code), "dbpn" or "dbpn_mi" (paper Table 4)
    dbpn_num_up: int = 7                # up units of a DBPN Net_S (D-DBPN T=7)
    dbpn_dense: bool = True             # dense (D-DBPN) connections in a DBPN Net_S
    keep_unused_rbpn_branch: bool = True  # build RBPN's res_feat3 (unused; parameter parity)
    net_s_flow: str = "target_to_neighbour"  # code: H_t gets F_{t->t+1}; paper eq (1): F_{t+1->t}
    # --- ablation switches -----------------------------------------------------------------------
    stage2: bool = True                 # Table 1 "w/o Stage 2" = False
    use_flow: bool = True               # Table 1 "w/o Flow" = False (no flow into Net_S, no FR)
    use_motion: bool = True             # Net_M on/off (requires use_flow)
    flow_refine: bool = True            # Table 1 "w/o FR" = False
    tsr_paths: str = "both"             # Table 6: "none", "hr" (T-SR on S-HR), "lr" (on S-LR), "both"
    # --- paper-vs-code switches -----------------------------------------------------------------
    stage2_update: str = "sequential"   # code: sequential t+n updates; paper eq (11): "parallel"
    stage2_motion: str = "half"         # code: Net_M on flows / 2 in stage 2; paper: "full" M
    backproj_act: str = "lrelu"         # code: LeakyReLU(0.1) in residual updates; paper: "relu"
    fr_correction: str = "sigmoid"      # code: sigmoid-bounded correction; "tanh" or "linear"
    # --- additions of ours (off = the authors' network) ---------------------------------------------
    global_residual: bool = False       # add bicubic-upscaled / averaged inputs to every RGB output (heads start at 0)
    mid_base: str = "average"           # with global_residual, the middle frames' base: "average" of the inputs, or
                                        # "warp": the inputs warped halfway along the (refined) flows (no flows, as
                                        # in "w/o Flow": the average)
    net_s_only: bool = False            # Net_S alone as an S-SR network: the DBPN / DBPN-MI / RBPN of Tables 7-8
    fr_only: bool = False               # the flow-refinement U-Net alone (stage (b) of the staged recipe)
    # --- initialisation ---------------------------------------------------------------------------
    resblock_init_scale: float = 1.0    # authors: 1.0 (plain Kaiming); <1 scales each ResBlock's last conv
    # --- flow-refinement U-Net ------------------------------------------------------------------
    fr_width: int = 64
    fr_depth: int = 5
    fr_identity_init: bool = False      # ours: the U-Net's last conv starts at zero, so with a tanh or linear
                                        # correction the refined flow starts equal to its input

    #: What a profile may set (:func:`starlib.util.config.check_numbers`); the network's size is bounded on top
    #: of these by the checkpoints' parameter bound (:data:`starlib.models.checkpoint.MAX_PARAMETERS`).
    NUMBER_RANGES: ClassVar[dict[str, tuple[float, float]]] = {
        "scale": (2, 8), "base_filter": (1, 2048), "feat": (1, 2048), "motion_feat": (1, 2048),
        "num_stages": (1, 16), "n_resblock": (0, 64), "netm_resblocks": (0, 64), "netd_resblocks": (0, 64),
        "tsr_lr_resblocks": (0, 64), "dbpn_num_up": (1, 32), "resblock_init_scale": (1e-6, 1.0),
        "fr_width": (1, 2048), "fr_depth": (1, 8)}

    def __post_init__(self) -> None:
        def check(name: str, allowed: tuple) -> None:
            value = getattr(self, name)
            if not isinstance(value, str) or value not in allowed:
                raise ConfigError(f"STARConfig.{name}={value!r} is not one of {allowed}")

        for f in dataclasses.fields(self):
            if f.type == "bool" and not isinstance(getattr(self, f.name), bool):
                raise ConfigError(f"STARConfig.{f.name} must be true or false, got {getattr(self, f.name)!r}")
        if isinstance(self.scale, bool) or self.scale not in PROJECTION_GEOMETRY:
            raise ConfigError(f"STARConfig.scale={self.scale!r} is not one of {sorted(PROJECTION_GEOMETRY)}")
        check("net_s", NET_S_KINDS)
        check("tsr_paths", TSR_PATHS)
        check("stage2_update", STAGE2_UPDATES)
        check("stage2_motion", STAGE2_MOTIONS)
        check("backproj_act", BACKPROJ_ACTS)
        check("net_s_flow", NET_S_FLOWS)
        check("fr_correction", CORRECTIONS)
        check("mid_base", MID_BASES)
        if self.fr_identity_init and self.fr_correction == "sigmoid":
            raise ConfigError("STARConfig.fr_identity_init=True starts the correction at f(0), which is 0.5 (75 px) "
                             "for the sigmoid: use fr_correction='tanh' or 'linear'")
        if self.mid_base != "average" and not self.global_residual:
            raise ConfigError(f"STARConfig.mid_base={self.mid_base!r} is the base of the global residual; set "
                             f"global_residual=True or mid_base='average'")
        for name in ("base_filter", "feat", "motion_feat", "num_stages", "dbpn_num_up", "fr_width",
                     "fr_depth"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"STARConfig.{name} must be a positive int, got {value!r}")
        for name in ("n_resblock", "netm_resblocks", "netd_resblocks", "tsr_lr_resblocks"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"STARConfig.{name} must be a non-negative int, got {value!r}")
        if isinstance(self.resblock_init_scale, bool) or not (
                isinstance(self.resblock_init_scale, (int, float)) and 0 < self.resblock_init_scale <= 1):
            raise ConfigError(f"STARConfig.resblock_init_scale must be in (0, 1], got {self.resblock_init_scale!r}")
        if self.use_motion and not self.use_flow:
            raise ConfigError("STARConfig.use_motion=True needs use_flow=True (Net_M reads the flows); "
                             "the paper's 'w/o Flow' model sets both to False")
        if self.net_s_only and (self.flow_refine or self.use_motion):
            raise ConfigError("STARConfig.net_s_only=True builds Net_S alone; set flow_refine=False and "
                             "use_motion=False (and use_flow=False for single-image DBPN)")
        if self.fr_only and (self.net_s_only or not self.flow_refine):
            raise ConfigError("STARConfig.fr_only=True builds the flow-refinement U-Net alone; it needs "
                             "flow_refine=True (and use_flow=True) and excludes net_s_only")
        if self.flow_refine and not self.use_flow:
            raise ConfigError("STARConfig.flow_refine=True needs use_flow=True; set flow_refine=False "
                             "for the 'w/o Flow' model")

    # --- constructors and serialisation ---------------------------------------------------------
    @classmethod
    def paper(cls, **overrides: Any) -> STARConfig:
        """The paper's widths and the authors' code choices (58.1 M core, 111.6 M with FR)."""
        return cls(**overrides)

    def replace(self, **changes: Any) -> STARConfig:
        """A copy with ``changes``; an unknown field is a :class:`ConfigError` naming it and the known ones."""
        _check_fields(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields that differ from the defaults (the paper's network): what checkpoints store and run
        names hash (:func:`starlib.util.config.sparse_asdict`); ``from_dict`` fills in the rest."""
        return sparse_asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> STARConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"a STARConfig is stored as a dict of fields, got {type(data).__name__}")
        _check_fields(data)
        return cls(**data)

    def diff(self, other: STARConfig) -> dict[str, tuple[Any, Any]]:
        """Fields that differ, as ``{name: (self_value, other_value)}``."""
        a, b = dataclasses.asdict(self), dataclasses.asdict(other)
        return {k: (a[k], b[k]) for k in a if a[k] != b[k]}

    def short_hash(self) -> str:
        """Stable 10-hex-digit hash of :meth:`to_dict` (run folders are named by ``starlib.train.run_id``,
        which hashes the same dict together with the training settings and the data)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]

    # --- derived quantities ----------------------------------------------------------------------
    @property
    def lr_feat(self) -> int:
        """c^l, the LR feature width (2 * feat in the authors' code, 128 at paper widths)."""
        return 2 * self.feat

    @property
    def has_hr_tsr(self) -> bool:
        return self.tsr_paths in ("hr", "both")

    @property
    def has_lr_tsr(self) -> bool:
        return self.tsr_paths in ("lr", "both")

    @property
    def motion_channels(self) -> int:
        """Channels M adds to the Net_ST / Net_F / Net_B inputs."""
        return self.motion_feat if self.use_motion else 0


def _check_fields(data: dict[str, Any]) -> None:
    known = {f.name for f in dataclasses.fields(STARConfig)}
    unknown = sorted(set(map(str, data)) - known)
    if unknown or not all(isinstance(k, str) for k in data):
        raise ConfigError(f"unknown STARConfig fields {unknown}; known fields are {sorted(known)}")
