"""The authors' released STARnet weight files (alterzero/STARnet) as starlib checkpoints.

Their files are plain state dicts saved from ``torch.nn.DataParallel`` (``module.`` prefixes; the REF classes
add ``model.`` and ``RBPN.``), sometimes under a ``state_dict`` key. :func:`import_official` converts the key
names (:func:`starlib.models.checkpoint.convert_official_state_dict`), infers which of their classes saved the
file from the key set alone (:data:`VARIANTS`: V2, V3, V4, V4_REF; every finetune of V4_REF has V4_REF's keys),
builds that class's paper-width config, loads the weights with ``strict=True`` and writes our checkpoint format
with the config and, in ``extra``, the source file's name and SHA256.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from starlib.paper.objectives import OBJECTIVES
from starlib.util.hashing import file_sha256

from .checkpoint import (CheckpointError, check_finite, check_fits, check_state_dict_layout,
                         convert_official_state_dict, load_state_dict_strict, meta_model, save_checkpoint,
                         torch_load_untrusted)
from .config import STARConfig
from .star import STARnet

#: Their class -> our paper-width config (docs/starnet-spec.md section 3): V2 = T-SR on the HR path only,
#: V3 = on the LR path only, V4 = both (the paper's "w/o FR"), V4_REF = V4 + the FR U-Net (STARnet).
VARIANTS: dict[str, dict[str, object]] = {
    "V4_REF": dict(flow_refine=True, tsr_paths="both"),
    "V4": dict(flow_refine=False, tsr_paths="both"),
    "V3": dict(flow_refine=False, tsr_paths="lr"),
    "V2": dict(flow_refine=False, tsr_paths="hr"),
}
#: What ``extra["weights"]`` says of an imported checkpoint (the provenance a table's setup line shows).
WEIGHTS_LABEL = "authors' released weights"
#: Their file-name endings (``FBPNSR_RBPN_V4_REF_Lr_STAR_ST.pth``) -> our objective, longest first.
_NAME_OBJECTIVES = (("STAR_T_HR", "STAR-T_HR"), ("STAR_T_LR", "STAR-T_LR"), ("STAR_ST", "STAR-ST"),
                    ("STAR_T", "STAR-T_LR"), ("STAR_S", "STAR-S"), ("STAR", "STAR"))


@dataclass(frozen=True)
class Imported:
    """What :func:`import_official` wrote."""

    output: Path
    variant: str
    config: STARConfig
    objective: str | None
    source_sha256: str
    parameters: int


def variant_config(variant: str, base: STARConfig | None = None) -> STARConfig:
    """The variant's config at the paper's widths (or at ``base``'s, for tests)."""
    return (base or STARConfig.paper()).replace(**VARIANTS[variant])


def infer_variant(state_dict: dict[str, torch.Tensor], source: str, base: STARConfig | None = None) -> str:
    """The variant whose key set equals ``state_dict``'s (keys already converted to ours); otherwise a
    :class:`CheckpointError` naming the closest variant and the keys that differ."""
    keys = set(state_dict)
    distance = {}
    for name in VARIANTS:
        own = set(meta_model(variant_config(name, base)).state_dict())
        if own == keys:
            return name
        distance[name] = (own - keys, keys - own)
    name = min(distance, key=lambda n: sum(map(len, distance[n])))
    missing, unexpected = distance[name]
    raise CheckpointError(f"{source} is not one of the authors' STARnet files ({', '.join(VARIANTS)}): closest is "
                          f"{name}, with {len(missing)} keys missing (e.g. {sorted(missing)[:2]}) and "
                          f"{len(unexpected)} unexpected (e.g. {sorted(unexpected)[:2]}); give a released "
                          f"FBPNSR_RBPN_V*.pth file")


def objective_from_name(filename: str, variant: str) -> str | None:
    """Our objective for a V4_REF file named the authors' way (``..._STAR_ST.pth`` -> STAR-ST), else None."""
    if variant != "V4_REF":
        return None
    stem = re.sub(r"[-.]", "_", Path(filename).stem).upper()
    for ending, name in _NAME_OBJECTIVES:
        if stem.endswith("_" + ending) or stem == ending:
            return name
    return None


def import_official(source: str | os.PathLike, output: str | os.PathLike, objective: str | None = None,
                    overwrite: bool = False, base: STARConfig | None = None) -> Imported:
    """Convert one of the authors' released files into a starlib checkpoint at ``output`` (written atomically;
    an existing ``output`` is kept unless ``overwrite``). ``objective`` defaults to the one the file name says;
    ``base`` replaces the paper's widths (tests use small ones)."""
    source, output = Path(source), Path(output)
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist; give the path of one of the authors' released "
                                f"FBPNSR_RBPN_V*.pth files")
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} exists; pass --overwrite to replace it or choose another -o")
    if objective is not None and objective not in OBJECTIVES:
        raise CheckpointError(f"--objective {objective!r} is not one of {', '.join(OBJECTIVES)}")
    payload = torch_load_untrusted(source, "STARnet weight file", "; give one of the authors' released .pth files")
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    check_state_dict_layout(payload, str(source))
    state = convert_official_state_dict(dict(payload))
    variant = infer_variant(state, str(source), base)
    cfg = variant_config(variant, base)
    check_fits({k: v.shape for k, v in meta_model(cfg).state_dict().items()}, state, str(source))
    check_finite(state, str(source))
    model = STARnet(cfg)
    load_state_dict_strict(model, state, str(source))
    objective = objective or objective_from_name(source.name, variant)
    digest = file_sha256(source)
    extra = {"weights": WEIGHTS_LABEL, "source_file": source.name, "source_sha256": digest,
             "authors_variant": variant}
    if objective:
        extra["objective"] = objective
    output.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, output, extra)
    return Imported(output, variant, cfg, objective, digest, sum(p.numel() for p in model.parameters()))
