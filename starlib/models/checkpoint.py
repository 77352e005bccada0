"""Model checkpoints: weights together with the config that rebuilds them.

A checkpoint file is a dict ``{"format", "starlib_version", "config", "state_dict", "extra"}`` holding
only tensors and plain Python values, so it loads with ``torch.load(weights_only=True)``. Writes are
atomic (temporary file + rename), so a crash never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

import starlib
from starlib.util.atomic import atomic_path

from .config import STARConfig
from .star import STARnet

FORMAT = "starlib-starnet/1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: wrong format, other config, or missing/unexpected weights."""


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    return path


def save_checkpoint(model: STARnet, path: str | os.PathLike, extra: dict[str, Any] | None = None) -> Path:
    """Save ``model``'s weights and config (and ``extra`` plain data such as step or metrics)."""
    payload = {
        "format": FORMAT,
        "starlib_version": starlib.__version__,
        "config": model.cfg.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": dict(extra or {}),
    }
    return atomic_torch_save(payload, path)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint dict safely (``weights_only=True``) and check its format."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train a model first or pass the "
                                f"path of an existing .pt file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated or not a torch file
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}. The file is corrupt or not a "
                              f"starlib checkpoint; re-save or re-download it") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path} is not a starlib STARnet checkpoint (format {found!r}, expected "
                              f"{FORMAT!r}); official STARnet weights need starlib.models.convert_official_state_dict")
    return payload


def load_checkpoint(path: str | os.PathLike, expected: STARConfig | None = None,
                    map_location: str | torch.device = "cpu") -> tuple[STARnet, dict[str, Any]]:
    """Rebuild the model stored in ``path``; returns ``(model, extra)``.

    If ``expected`` is given and differs from the stored config, raise :class:`CheckpointError`
    naming every differing field with both values.
    """
    payload = read_checkpoint(path)
    try:
        cfg = STARConfig.from_dict(payload["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: stored config is not valid for this starlib version: {exc}") from exc
    if expected is not None and cfg != expected:
        diffs = "; ".join(f"{k}: checkpoint={a!r}, expected={b!r}" for k, (a, b) in cfg.diff(expected).items())
        raise CheckpointError(f"{path} holds a different STARnet config ({diffs}); load it without "
                              f"`expected` or pass the checkpoint of the variant you want")
    model = STARnet(cfg)
    load_state_dict_strict(model, payload["state_dict"], source=str(path))
    return model.to(map_location), payload.get("extra", {})


def load_state_dict_strict(model: torch.nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` with a message that names missing, unexpected and mis-shaped keys."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shaped = sorted(k for k in set(own) & set(state_dict) if own[k].shape != state_dict[k].shape)
    if missing or unexpected or shaped:
        def head(keys: list[str]) -> str:
            return ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing in {source}: {head(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected in {source}: {head(unexpected)}")
        if shaped:
            parts.append("shape mismatch: " + head([f"{k} {tuple(state_dict[k].shape)} vs model "
                                                    f"{tuple(own[k].shape)}" for k in shaped]))
        raise CheckpointError(f"weights in {source} do not fit the model: " + "; ".join(parts))
    model.load_state_dict(state_dict, strict=True)


def convert_official_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map the authors' key names (``module.`` DataParallel prefix, ``model.`` REF wrapper,
    ``RBPN.`` Net_S) onto ours (``net_s.``). Values are not touched."""
    out = {}
    for key, value in state_dict.items():
        for prefix in ("module.", "model."):
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key.startswith("RBPN."):
            key = "net_s." + key[len("RBPN."):]
        out[key] = value
    return out
