"""Model checkpoints: weights together with the config that rebuilds them.

A checkpoint file is a dict ``{"format", "starlib_version", "config", "state_dict", "extra"}`` holding
only tensors and plain Python values, so it loads with ``torch.load(weights_only=True)``. Writes are
atomic (temporary file + rename), so a crash never leaves a half-written checkpoint behind.

A checkpoint file is untrusted input. Before any real memory is allocated, :func:`load_checkpoint` checks the
payload's layout, builds the stored config on the ``meta`` device (shapes only, no storage) and refuses a
config that implies more than :data:`MAX_PARAMETERS` parameters or whose parameter shapes differ from the
stored tensors; weights that are not finite (NaN/inf) are refused too. Every refusal is a
:class:`CheckpointError` that names the file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

import starlib
from starlib.util.atomic import atomic_path

from .config import STARConfig
from .star import STARnet

FORMAT = "starlib-starnet/1"

#: Parameters of the paper's network (``STARConfig.paper()``, 111.6 M).
PAPER_PARAMETERS = 111_610_863
#: The largest network a checkpoint may describe: twice the paper's (the largest configuration of the paper,
#: scale 8 with DBPN-MI, has 127.7 M). Entry points pass ``$STARLIB_MAX_PARAMETERS`` instead when it is set
#: (:func:`starlib.util.env.max_parameters`), for trusted larger models.
MAX_PARAMETERS = 2 * PAPER_PARAMETERS
#: Depth fields of STARConfig; each unit of a used one adds at least one stored tensor (checked before the
#: config is built, so a depth of 10**9 is refused without building anything).
DEPTH_FIELDS = ("num_stages", "n_resblock", "netm_resblocks", "netd_resblocks", "tsr_lr_resblocks", "dbpn_num_up",
                "fr_depth")
#: Known ``extra`` entries and the types they must have (other entries may hold any plain value).
EXTRA_TYPES: dict[str, tuple[type, ...]] = {"objective": (str,), "data": (str,), "git_commit": (str,),
                                           "steps": (int,), "step": (int,), "train_seconds": (int, float)}


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: unreadable, wrong format or layout, another config, a config too
    large or not matching its weights, missing/unexpected/mis-shaped or non-finite weights."""


def describe_load_error(exc: BaseException) -> str:
    """One line saying why ``torch.load`` failed, without torch's advice to retry with ``weights_only=False``
    (the wrong advice for a file from elsewhere: it would let the file run code)."""
    text = str(exc)
    if "Weights only load failed" in text or "weights_only" in text:
        reasons = [line.strip() for line in text.splitlines()
                   if line.strip() and "weights_only" not in line and "Weights only load failed" not in line
                   and "documentation of torch.load" not in line]
        reason = f" ({reasons[0].rstrip('.')})" if reasons else ""
        return (f"it holds Python objects other than tensors and plain values{reason}; starlib loads files with "
                f"weights_only=True and never runs code from them")
    if isinstance(exc, EOFError) or not text.strip():
        return f"the file ends early ({type(exc).__name__}: it is empty or truncated)"
    first = text.strip().splitlines()[0]
    if "PytorchStreamReader" in first or "zip archive" in first:
        return "it is not a complete torch zip archive (truncated or corrupt)"
    first = first if len(first) <= 200 else first[:200] + "..."
    return f"{type(exc).__name__}: {first}"


def torch_load_untrusted(path: str | os.PathLike, what: str, fix: str = "; re-save or re-download it") -> Any:
    """``torch.load(path, weights_only=True)`` on CPU; any failure is a one-line :class:`CheckpointError` naming
    ``what`` (e.g. "checkpoint") and the file, ending with ``fix``."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated, empty, not a torch file, or pickled objects
        raise CheckpointError(f"cannot read {what} {path}: {describe_load_error(exc)}. The file is corrupt or "
                              f"not a starlib {what}{fix}") from exc


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
    """Load a checkpoint dict safely (``weights_only=True``) and check its format and layout: ``config`` a dict,
    ``state_dict`` a dict of named tensors, ``extra`` a dict (missing = empty) whose known entries have their
    types (:data:`EXTRA_TYPES`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train a model first or pass the "
                                f"path of an existing .pt file")
    payload = torch_load_untrusted(path, "checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path} is not a starlib STARnet checkpoint (format {found!r}, expected "
                              f"{FORMAT!r}); official STARnet weights need starlib.models.convert_official_state_dict")
    missing = [k for k in ("config", "state_dict") if k not in payload]
    if missing:
        raise CheckpointError(f"{path} is an incomplete starlib checkpoint: no {' and no '.join(map(repr, missing))} "
                              f"entry; re-save it with starlib.models.save_checkpoint")
    if not isinstance(payload["config"], dict):
        raise CheckpointError(f"{path}: 'config' must be a dict of STARConfig fields, got "
                              f"{type(payload['config']).__name__}")
    check_state_dict_layout(payload["state_dict"], str(path))
    payload.setdefault("extra", {})
    extra = payload["extra"]
    if not isinstance(extra, dict) or not all(isinstance(k, str) for k in extra):
        raise CheckpointError(f"{path}: 'extra' must be a dict with string keys, got {type(extra).__name__}; "
                              f"re-save it with starlib.models.save_checkpoint(model, path, extra={{...}})")
    for key, types in EXTRA_TYPES.items():
        value = extra.get(key)
        if key in extra and (isinstance(value, bool) or not isinstance(value, types)
                             or (isinstance(value, float) and not math.isfinite(value))):
            raise CheckpointError(f"{path}: extra[{key!r}] = {value!r} is not a "
                                  f"{' or '.join(t.__name__ for t in types)}")
    return payload


def check_state_dict_layout(state_dict: Any, source: str) -> None:
    """A state dict must map string keys to tensors (a :class:`CheckpointError` naming ``source`` otherwise)."""
    if not isinstance(state_dict, Mapping):
        raise CheckpointError(f"{source}: the weights must be a dict of tensors, got {type(state_dict).__name__}")
    for key, value in state_dict.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{source}: weight {key!r} is a {type(value).__name__}, not a tensor with a "
                                  f"string name")


def check_finite(state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Refuse weights with NaN or infinite values, naming ``source`` and the first such tensor."""
    for key, value in state_dict.items():
        floating = value.is_floating_point() or value.is_complex()
        if floating and value.numel() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise CheckpointError(f"{source}: weight {key} has {bad} non-finite (NaN/inf) value(s) of "
                                  f"{value.numel()}; the file holds a diverged or damaged model: use an earlier "
                                  f"checkpoint or retrain")


class _NoInit(TorchFunctionMode):
    """Skips in-place (random) initialisation while a model is built on the meta device: there is nothing to
    fill, and meta ``normal_`` costs a second of imports on the first call."""

    SKIP = frozenset({torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.zero_, torch.Tensor.fill_})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.SKIP:
            return args[0]
        return func(*args, **(kwargs or {}))


def meta_model(cfg: STARConfig) -> STARnet:
    """``STARnet(cfg)`` on the meta device: every shape, no memory for weights (milliseconds at any width)."""
    with torch.device("meta"), _NoInit():
        return STARnet(cfg)


def implied_parameters(cfg: STARConfig) -> int:
    """Number of parameters of ``STARnet(cfg)`` (as :func:`starlib.models.star.count_parameters`), computed
    without allocating them."""
    return sum(p.numel() for p in meta_model(cfg).parameters())


def check_config_fits(cfg: STARConfig, state_dict: Mapping[str, torch.Tensor], source: str,
                      max_parameters: int | None = MAX_PARAMETERS) -> None:
    """Refuse, before anything real is built, a config deeper than its weights could be, one with more than
    ``max_parameters`` parameters (None: no bound), or one whose parameter shapes differ from the stored
    tensors."""
    depth_bound = max(64, len(state_dict))
    for name in DEPTH_FIELDS:
        if getattr(cfg, name) > depth_bound:
            raise CheckpointError(f"{source}: stored config has {name}={getattr(cfg, name)}, more than the "
                                  f"{len(state_dict)} stored tensors could fill; the file is damaged or not a "
                                  f"STARnet checkpoint")
    try:
        meta = meta_model(cfg)
    except Exception as exc:  # e.g. widths whose products overflow
        raise CheckpointError(f"{source}: stored config cannot be built ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc
    n_params = sum(p.numel() for p in meta.parameters())
    bound = max_parameters
    if bound is not None and n_params > bound:
        which = " (twice the paper's 111.6 M)" if bound == MAX_PARAMETERS else " (STARLIB_MAX_PARAMETERS)"
        raise CheckpointError(f"{source}: stored config implies a {n_params / 1e6:,.1f} M-parameter network "
                              f"({4 * n_params / 2**30:,.1f} GiB of float32 weights), above the bound of "
                              f"{bound / 1e6:.1f} M{which}; refused before building it (set STARLIB_MAX_PARAMETERS "
                              f"to load a larger model you trust)")
    check_fits({k: v.shape for k, v in meta.state_dict().items()}, state_dict, source)


def load_checkpoint(path: str | os.PathLike, expected: STARConfig | None = None,
                    map_location: str | torch.device = "cpu",
                    max_parameters: int = MAX_PARAMETERS) -> tuple[STARnet, dict[str, Any]]:
    """Rebuild the model stored in ``path``; returns ``(model, extra)``.

    If ``expected`` is given and differs from the stored config, raise :class:`CheckpointError`
    naming every differing field with both values. The stored config is checked against its weights and
    the size bound ``max_parameters`` before the model is built (:func:`check_config_fits`; with ``expected``
    the caller vouches for the config and the bound does not apply), and the weights must be finite.
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
    check_config_fits(cfg, payload["state_dict"], str(path), None if expected is not None else max_parameters)
    check_finite(payload["state_dict"], str(path))
    model = STARnet(cfg)
    load_state_dict_strict(model, payload["state_dict"], source=str(path))
    return model.to(map_location), payload["extra"]


def check_fits(own: Mapping[str, torch.Size], state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """A :class:`CheckpointError` naming missing, unexpected and mis-shaped keys of ``state_dict`` against the
    shapes ``own`` of a model."""
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shaped = sorted(k for k in set(own) & set(state_dict) if tuple(own[k]) != tuple(state_dict[k].shape))
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
                                                    f"{tuple(own[k])}" for k in shaped]))
        raise CheckpointError(f"weights in {source} do not fit the model: " + "; ".join(parts))


def load_state_dict_strict(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` with a message that names missing, unexpected and mis-shaped keys (and
    tensors that cannot be copied in, e.g. of a complex dtype)."""
    check_state_dict_layout(state_dict, source)
    check_fits({k: v.shape for k, v in model.state_dict().items()}, state_dict, source)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights in {source} cannot be loaded: {str(exc).splitlines()[0]}") from exc


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
