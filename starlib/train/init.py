"""Where a run starts: the whole network, or parts of it, from finished runs or checkpoint files.

``TrainConfig.init_from`` loads a whole network: the same STARConfig (a finetune from its parent), or the same
network without flow refinement (the hand-off of the staged recipe from stage (c), STAR without FR, to stage
(d), STAR with FR; the U-Net then comes from ``init_flow_net`` or keeps its default initialisation).
``init_net_s`` loads Net_S alone (``net_s.*``: from a Net_S-alone run, any run with the same Net_S, or the
authors' ``rbpn_pretrained_F2_4x.pth``); ``init_flow_net`` the flow-refinement U-Net (``flow_net.*``: from an
FR-alone run or the authors' ``flow_refinement.pth``).

A source is a run name (its ``model.pt`` in the runs folder) or a file: a starlib checkpoint, or the authors'
weights (a plain state dict, DataParallel ``module.`` prefixes and all), converted with
:func:`starlib.models.convert_official_state_dict`. Whatever does not fit is a :class:`CheckpointError` naming
the source, the keys and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from starlib.models import STARConfig, STARnet, convert_official_state_dict
from starlib.models.checkpoint import (FORMAT, CheckpointError, check_finite, check_fits, check_state_dict_layout,
                                       load_state_dict_strict, read_checkpoint, torch_load_untrusted)
from starlib.util.config import ConfigError

#: TrainConfig field -> the STARnet attribute it initialises.
PART_FIELDS: dict[str, str] = {"init_net_s": "net_s", "init_flow_net": "flow_net"}


def is_run_name(source: str) -> bool:
    """A source names a run (a folder name), not a file path."""
    return bool(source) and not any(c in source for c in "/\\") and not source.endswith((".pt", ".pth"))


def source_path(source: str, runs_dir: Path) -> Path:
    return runs_dir / source / "model.pt" if is_run_name(source) else Path(source)


def read_weights(source: str, runs_dir: Path, field: str) -> tuple[dict[str, torch.Tensor], STARConfig | None]:
    """``(state dict, config)`` of a source; the config is None for the authors' files (keys converted)."""
    path = source_path(source, runs_dir)
    if not path.is_file():
        fix = (f"train run {source!r} first (the recipes train every stage before the run that needs it)"
               if is_run_name(source) else "give the path of an existing .pt/.pth file")
        raise FileNotFoundError(f"TrainConfig.{field}: {path} does not exist; {fix}")
    payload = torch_load_untrusted(path, f"weights for TrainConfig.{field}")
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        payload = read_checkpoint(path)
        try:
            cfg = STARConfig.from_dict(payload["config"])
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: stored config is not valid for this starlib version: {exc}") from exc
        state = payload["state_dict"]
    else:                                   # the authors' weights: a plain state dict, maybe under a key
        if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
            payload = payload["state_dict"]
        check_state_dict_layout(payload, str(path))
        state, cfg = convert_official_state_dict(dict(payload)), None
    check_finite(state, str(path))
    return state, cfg


def _load_whole(model: STARnet, source: str, runs_dir: Path) -> str:
    state, cfg = read_weights(source, runs_dir, "init_from")
    where = str(source_path(source, runs_dir))
    if cfg is None or cfg == model.cfg:
        load_state_dict_strict(model, state, where)
        return "whole network"
    if model.cfg.flow_refine and cfg == model.cfg.replace(flow_refine=False):
        own = {k: v.shape for k, v in model.state_dict().items() if not k.startswith("flow_net.")}
        check_fits(own, state, where)
        model.load_state_dict(state, strict=False)
        return "everything but the flow-refinement U-Net"
    diffs = "; ".join(f"{k}: init={a!r}, run={b!r}" for k, (a, b) in cfg.diff(model.cfg).items())
    raise ConfigError(f"init_from {source} holds another network ({diffs}); it must be the same network, or the "
                      f"same network without flow refinement")


def _load_part(model: STARnet, field: str, source: str, runs_dir: Path) -> str:
    attr = PART_FIELDS[field]
    module = getattr(model, attr, None)
    if module is None:
        raise ConfigError(f"TrainConfig.{field} is set, but this network has no {attr} "
                          f"({'flow_refine=False' if attr == 'flow_net' else 'fr_only=True'})")
    state, cfg = read_weights(source, runs_dir, field)
    prefix = attr + "."
    part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not part and cfg is None:            # an authors' file of the part alone (RBPN, the U-Net)
        part = state
    where = f"{source_path(source, runs_dir)} ({attr})"
    if not part:
        raise CheckpointError(f"{where}: holds no {prefix}* weights; give a run or file that contains {attr}")
    load_state_dict_strict(module, part, where)
    return attr


def initialise(model: STARnet, cfg: Any, runs_dir: Path) -> dict[str, str]:
    """Load ``cfg.init_from``, then ``init_net_s`` and ``init_flow_net`` (a part overrides the whole) into
    ``model``; returns ``{field: what it loaded}`` for the run's config.json."""
    loaded: dict[str, str] = {}
    if cfg.init_from:
        loaded["init_from"] = _load_whole(model, cfg.init_from, runs_dir)
    for field in PART_FIELDS:
        if getattr(cfg, field):
            loaded[field] = _load_part(model, field, getattr(cfg, field), runs_dir)
    return loaded
