"""The one way a trained STARnet is run on a pair of frames: :class:`PairRunner`.

Both users go through it: scoring (:class:`STARMethod`, an evaluation method ``FrameStack -> {output: uint8
frame}``) and ``python -m starlib enhance`` (:mod:`starlib.infer.enhance`, which streams pairs of a clip through
it). One pair's round trip: pad the frames to what the network accepts (edge replication at the right/bottom),
compute their flows (``flow_pair``; on a worker thread when prefetching), frames and flows to tensors
(``to_tensor``, ``flow_to_tensor``), a tiled forward (:func:`starlib.infer.tiling.tiled_forward`), and each
output checked to be finite (:class:`NonFiniteOutputError` otherwise: NaN would become black, inf white) and
converted to uint8 in place (:func:`_uint8_inplace`).

How it runs is a :class:`Settings`: enhance uses its defaults (128 px tiles blended with a 4 px margin, flows
prefetched); scoring builds its own (``tile``/``overlap`` of the caller, margin 0, flows inline).
"""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from starlib.data.degrade import IMAGENET_MEAN, IMAGENET_STD, NORMALIZATIONS, flow_to_tensor, to_tensor
from starlib.data.images import pad_frame
from starlib.data.samples import FrameStack, flow_pair
from starlib.flow import BACKENDS, DEFAULT_BACKEND, FlowCache
from starlib.infer.tiling import tiled_forward
from starlib.models import STARConfig, STARnet
from starlib.util.hardware import warn_if_slow_bf16


class EnhanceError(ValueError):
    """A clip, checkpoint or setting that enhance cannot use; the message names the file and the fix."""


class NonFiniteOutputError(EnhanceError):
    """A network output holds NaN or inf (NaN weights, or an overflow): refused instead of written as black or
    white pixels. ``output`` names the output (``sr_t``, ``lr_mid`` ...); enhance adds the frames of the pair."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def check_finite(t: torch.Tensor, key: str) -> None:
    """Raise :class:`NonFiniteOutputError` if ``t`` (an output named ``key``) holds NaN or inf. One reduction
    (a sum is finite only if every value is, barring an overflow of the sum, which the exact count rules out);
    ``t`` is not changed."""
    if bool(torch.isfinite(t.sum(dtype=torch.float32))):
        return
    bad = int((~torch.isfinite(t)).sum())
    if bad == 0:
        return
    nan = int(torch.isnan(t).sum())
    raise NonFiniteOutputError(
        f"the network's {key} output is not finite ({nan} NaN and {bad - nan} inf of {t.numel()} values); writing "
        f"it would give black or white pixels. The checkpoint's weights are NaN/inf (a diverged training run: use "
        f"an earlier checkpoint or retrain) or the network overflowed (try without --bf16)", key)


@dataclass(frozen=True)
class Settings:
    """How the network is run. ``tile``/``overlap``/``margin`` are input px (0 = whole frames)."""

    tile: int = 128
    overlap: int = 16
    margin: int = 4
    flow_backend: str = DEFAULT_BACKEND
    flow_cache: str | None = None       # folder of a FlowCache; None = compute every flow (nothing written)
    channels_last: bool = False
    bf16: bool = False                  # bfloat16 autocast; changes outputs slightly (benchmarks/ measures it)
    prefetch_flows: bool = True         # next pair's flows on a worker thread while the network runs

    def __post_init__(self) -> None:
        if self.flow_backend not in BACKENDS:
            raise EnhanceError(f"unknown flow backend {self.flow_backend!r}; choose one of {sorted(BACKENDS)}")
        if self.tile < 0 or self.margin < 0 or self.overlap < 2 * self.margin:
            raise EnhanceError(f"tiling needs tile >= 0 and overlap >= 2 * margin >= 0, got tile={self.tile}, "
                               f"overlap={self.overlap}, margin={self.margin}")
        if self.tile and self.overlap >= self.tile:
            raise EnhanceError(f"overlap ({self.overlap}) must be smaller than the tile ({self.tile})")


#: Smallest side the OpenCV flow backends accept with margin (DIS refuses frames under 12 px).
FLOW_MIN_SIZE = 16


def input_geometry(cfg: STARConfig) -> tuple[int, int]:
    """``(multiple, min_size)``: input sides must be multiples of ``multiple`` and at least ``min_size`` px
    (the flow U-Net's pooling depth, and :data:`FLOW_MIN_SIZE` for the flow backends)."""
    multiple = 4 // math.gcd(cfg.scale, 4) if cfg.has_hr_tsr else 1
    min_size = 2**cfg.fr_depth if cfg.flow_refine else 1
    if cfg.use_flow:
        min_size = max(min_size, FLOW_MIN_SIZE)
    return multiple, -(-max(min_size, multiple) // multiple) * multiple


def _uint8_inplace(t: torch.Tensor, normalization: str = "imagenet") -> np.ndarray:
    """(3, H, W) normalised float tensor -> (H, W, 3) uint8, reusing ``t``'s memory (no full-size temporaries:
    at 5120x2880 each float copy is 177 MB). Same arithmetic as ``degrade.to_uint8``."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {normalization!r}; choose one of {NORMALIZATIONS}")
    t = t.float()
    if normalization == "imagenet":
        t.mul_(torch.tensor(IMAGENET_STD, device=t.device).view(3, 1, 1))
        t.add_(torch.tensor(IMAGENET_MEAN, device=t.device).view(3, 1, 1))
    t.clamp_(0, 1).mul_(255).round_()
    return t.to(torch.uint8).permute(1, 2, 0).cpu().numpy()


class _Done:
    """A finished value with a Future's ``result()`` (flows computed inline)."""

    def __init__(self, value: object) -> None:
        self.value = value

    def result(self) -> object:
        return self.value


class PairRunner:
    """One network applied to frame pairs: padding, flows, tiling, channels-last, bf16, uint8 outputs.

    Flows come from ``cache`` when one is given (its backend must be ``settings.flow_backend``), else from a
    :class:`FlowCache` built from ``settings.flow_cache`` / ``settings.flow_backend``. ``normalization`` is how
    frames are normalised for the network (``to_tensor``) and outputs de-normalised. ``tile_name`` is how an
    error calls the tile setting (the enhance flag, or the profile setting scoring reads).
    """

    def __init__(self, model: STARnet, settings: Settings, device: torch.device | str,
                 cache: FlowCache | None = None, normalization: str = "imagenet", tile_name: str = "--tile") -> None:
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown normalization {normalization!r}; choose one of {NORMALIZATIONS}")
        if cache is not None and cache.backend != settings.flow_backend:
            raise ValueError(f"the flow cache computes {cache.backend!r} flows but the settings name "
                             f"{settings.flow_backend!r}")
        device = torch.device(device)
        self.model = model.eval().to(device)
        if settings.bf16:
            warn_if_slow_bf16(device, "--bf16")
        if settings.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.settings, self.device, self.cfg, self.normalization = settings, device, model.cfg, normalization
        self.multiple, self.min_size = input_geometry(model.cfg)
        tile = settings.tile - settings.tile % self.multiple if settings.tile else 0
        if tile and tile < max(self.min_size, 2 * settings.overlap):
            raise EnhanceError(f"{tile_name} {settings.tile} is too small for this network: use at least "
                               f"{max(self.min_size, 2 * settings.overlap)} px, or 0 for whole frames")
        self.tile = tile
        self.cache = cache if cache is not None else FlowCache(settings.flow_cache, settings.flow_backend)
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="flows") if settings.prefetch_flows else None

    def pad(self, frame: np.ndarray) -> np.ndarray:
        """(H, W, 3) -> (H', W', 3): edge-replicated at the right/bottom to what the network accepts."""
        return pad_frame(frame, self.multiple, self.min_size)

    def _flows(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return flow_pair(a, b, self.cache) if self.cfg.use_flow else None  # 2 x (H, W, 2) normalised

    def submit_flows(self, a: np.ndarray, b: np.ndarray) -> Future | _Done:
        """Flows of padded frames a -> b and b -> a, on the worker thread when prefetching."""
        if self.pool is None:
            return _Done(self._flows(a, b))
        return self.pool.submit(self._flows, a, b)

    def forward(self, a: np.ndarray, b: np.ndarray, flows: tuple[np.ndarray, np.ndarray] | None,
                keys: tuple[str, ...], size: tuple[int, int]) -> dict[str, np.ndarray]:
        """Padded frames a, b (H', W', 3) -> {key: uint8 output cropped to ``size`` (h, w) x its scale}."""
        dev, norm = self.device, self.normalization
        fmt = torch.channels_last if self.settings.channels_last else torch.contiguous_format
        ta = to_tensor(a, norm)[None].to(dev).contiguous(memory_format=fmt)             # (1, 3, H', W')
        tb = to_tensor(b, norm)[None].to(dev).contiguous(memory_format=fmt)
        ff = fb = None
        if flows is not None:                                                           # (1, 2, H', W') each
            ff, fb = (flow_to_tensor(f)[None].to(dev).contiguous(memory_format=fmt) for f in flows)
        h, w = size
        result = {}
        with torch.inference_mode():
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.settings.bf16):
                out = tiled_forward(self.model, ta, tb, ff, fb, tile=self.tile, overlap=self.settings.overlap,
                                    keys=keys, margin=self.settings.margin)
            for k in keys:
                f = out[k].shape[-1] // a.shape[1]                                      # scale of this output
                o = out.pop(k)[0, :, : h * f, : w * f]
                check_finite(o, k)
                result[k] = _uint8_inplace(o, norm)
        return result

    def run(self, a: np.ndarray, b: np.ndarray, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
        """One pair of (H, W, 3) uint8 frames -> {key: uint8 output at ``H, W`` x its scale}, flows inline."""
        pa, pb = self.pad(a), self.pad(b)
        return self.forward(pa, pb, self._flows(pa, pb), keys, a.shape[:2])

    def close(self) -> None:
        """Stop the flow worker; give the caller's model back in the default memory layout."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        if self.settings.channels_last:
            self.model.to(memory_format=torch.contiguous_format)


class STARMethod:
    """A trained STARnet as an evaluation method: ``FrameStack -> {output: uint8 frame}``.

    ``inputs="lr"``: the LR frames go in; outputs ``sr_t``, ``sr_mid``, ``sr_t1`` (HR) and ``lr_mid``
    (``sr_t``, ``sr_t1`` only for a Net_S-only baseline).
    ``inputs="hr"`` (STAR-T_HR): the HR frames go in and the LR-branch output is the HR middle frame,
    returned as ``hr_mid``. Flows come from ``cache``; ``tile`` bounds memory (0 = whole frames), tiles
    overlapping by ``overlap`` px and blended with margin 0. A thin adapter over :class:`PairRunner`
    (flows computed inline, no prefetching, fp32, default memory layout).
    """

    def __init__(self, model: STARnet, cache: FlowCache, inputs: str = "lr", tile: int = 0, overlap: int = 8,
                 normalization: str = "imagenet", device: str | torch.device = "cpu") -> None:
        if inputs not in ("lr", "hr"):
            raise ValueError(f"inputs must be 'lr' or 'hr', got {inputs!r}")
        if inputs == "hr" and model.cfg.net_s_only:
            raise ValueError("a Net_S-only (S-SR) network has no T-SR output; use inputs='lr'")
        settings = Settings(tile=tile, overlap=overlap, margin=0, flow_backend=cache.backend,
                            flow_cache=None if cache.root is None else str(cache.root), prefetch_flows=False)
        self.runner = PairRunner(model, settings, device, cache=cache, normalization=normalization,
                                 tile_name="the scoring tile (a profile's [eval] tile_lr / tile_hr)")
        self.model, self.cache, self.inputs = self.runner.model, cache, inputs
        self.keys = model.output_names if inputs == "lr" else ("lr_mid",)

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        seq = stack.lr if self.inputs == "lr" else stack.hr
        out = self.runner.run(seq[0], seq[-1], self.keys)
        return {"hr_mid": out["lr_mid"]} if self.inputs == "hr" else out


class StageOneOutputs:
    """The same network's stage-1 outputs (``<name>_aux``: before stage 2 refines them; S-SR = Net_S's own
    RGB head) under the final outputs' names, so that they score like a method of their own: what stage 2
    adds is the paired difference. Wraps an LR-input :class:`STARMethod`."""

    key_suffix = "-stage1"

    def __init__(self, method: STARMethod) -> None:
        if method.inputs != "lr":
            raise ValueError("StageOneOutputs wraps an LR-input STARMethod (the stage-1 outputs of HR inputs are "
                             "not scored)")
        if method.model.cfg.net_s_only or not method.model.cfg.stage2:
            raise ValueError("StageOneOutputs needs a network with stage 2 (a Net_S-only network or one without "
                             "stage 2 has no separate stage-1 outputs)")
        self.method, self.keys = method, tuple(f"{k}_aux" for k in method.keys)

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        out = self.method.runner.run(stack.lr[0], stack.lr[-1], self.keys)
        return {k.removesuffix("_aux"): v for k, v in out.items()}


__all__ = ["EnhanceError", "FLOW_MIN_SIZE", "NonFiniteOutputError", "PairRunner", "STARMethod", "Settings",
           "StageOneOutputs", "check_finite", "input_geometry"]
