"""Enhance a clip with a trained STARnet: what ``python -m starlib enhance`` runs.

Modes (``mode``), each with the variants that were trained for it (checked from the checkpoint's recorded
objective, since STAR-ST and STAR-T_HR share one network config):

- ``st``: 4x space and 2x frame rate from a STAR or STAR-ST checkpoint. Frames f0..f(N-1) become
  SR(f0), SR(mid 0-1), SR(f1), ..., SR(f(N-1)): 2N-1 frames (``sr_t`` and ``sr_mid`` of each pair, ``sr_t1``
  of the last pair for the last frame).
- ``s``: 4x space only (``sr_t`` of each pair, ``sr_t1`` for the last frame): N frames. STAR-S, STAR-ST or
  STAR. A single image is paired with itself.
- ``t``: 2x frame rate at the input resolution with a STAR-T_HR checkpoint (HR frames in, ``lr_mid`` out):
  f0, mid 0-1, f1, ...: 2N-1 frames, input frames passed through unchanged.

``times=2`` doubles the frame rate once more (paper Table 5): a second ``t`` pass with a STAR-T_HR model
(``checkpoint2``) over the first pass's outputs, streamed; ``st`` then gives 4x space, 4x frame rate.

Streaming: frames are pulled one at a time; at any moment the pipeline holds three input frames of a pass
(the pair being processed and the next frame, whose flows are computed on a worker thread while the
network runs), their flows and the current outputs, so memory does not grow with the clip's length.
Tiling (``Settings.tile``, input px) bounds the network's memory on large frames; see
:func:`starlib.infer.tiled_forward` for the overlap blending.

Frame sizes: the network accepts any size of at least its flow U-Net's minimum (8 px for the ``cpu``
widths; 16 px when it uses flows, for the OpenCV flow backends) and, with the HR T-SR path, scale * size
divisible by 4. Frames that do not fit are *padded* by edge replication at the right/bottom and the outputs
cropped back, so outputs are exactly ``scale`` times (``st``/``s``) or exactly as large as (``t``) the inputs;
nothing is modcropped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from starlib.data.degrade import IMAGENET_MEAN, IMAGENET_STD, to_tensor
from starlib.data.samples import flow_pair
from starlib.flow import BACKENDS, DEFAULT_BACKEND, FlowCache
from starlib.util.hardware import warn_if_slow_bf16
from starlib.infer.tiling import tiled_forward
from starlib.models import STARConfig, STARnet, load_checkpoint
from starlib.util.paths import REPO_ROOT
from starlib.util.provenance import git_commit
from starlib.infer.videoio import open_input, open_output

MODES = ("st", "s", "t")
MODE_DESCRIPTIONS = {"st": "4x space, 2x frame rate", "s": "4x space", "t": "2x frame rate at input size"}
#: Objectives whose outputs a mode uses, preferred first.
OBJECTIVES_FOR_MODE = {"st": ("STAR-ST", "STAR"), "s": ("STAR-S", "STAR-ST", "STAR"), "t": ("STAR-T_HR",)}
MODE_FOR_OBJECTIVE = {"STAR": "st", "STAR-ST": "st", "STAR-S": "s", "STAR-T_HR": "t"}
DEMO_DIR = REPO_ROOT / "checkpoints" / "demo"
DEMO_ST = DEMO_DIR / "star-st-cpu.pt"
DEMO_T_HR = DEMO_DIR / "star-t_hr-cpu.pt"


class EnhanceError(ValueError):
    """A clip, checkpoint or setting that enhance cannot use; the message names the file and the fix."""


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


@dataclass
class EnhanceResult:
    output: Path
    frames_in: int
    frames_out: int
    fps_in: float
    fps_out: float
    size_in: tuple[int, int]      # (width, height)
    size_out: tuple[int, int]
    seconds: float
    device: str


def default_checkpoint(mode: str) -> Path:
    """The shipped demo checkpoint for ``mode`` (trained under the ``cpu`` profile)."""
    return DEMO_T_HR if mode == "t" else DEMO_ST


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise EnhanceError("--device cuda was asked for but torch sees no CUDA device; use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise EnhanceError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)


def load_for_mode(path: str | Path, mode: str, flag: str = "--checkpoint") -> tuple[STARnet, str]:
    """Load a checkpoint and check that its variant serves ``mode``; returns ``(model, objective)``."""
    path = Path(path)
    if mode not in MODES:
        raise EnhanceError(f"unknown mode {mode!r}; choose one of {MODES}")
    if not path.is_file():
        hint = (" It is the demo checkpoint shipped in git: restore it with `git checkout -- checkpoints/demo`."
                if path.parent == DEMO_DIR else "")
        raise FileNotFoundError(f"checkpoint {path} does not exist.{hint} Pass {flag} PATH of a trained model "
                                f"(runs/<profile>/<objective>-<hash>/model.pt)")
    model, extra = load_checkpoint(path)
    objective = extra.get("objective")
    allowed = OBJECTIVES_FOR_MODE[mode]
    if objective is None:
        raise EnhanceError(f"{path} does not record the objective it was trained for, so its variant is unknown; "
                           f"re-save it with starlib.models.save_checkpoint(model, path, extra={{'objective': "
                           f"'{allowed[0]}'}}) naming the objective it was really trained with")
    if objective not in allowed:
        kind = "an HR-input" if objective == "STAR-T_HR" else "an LR-input"
        other = MODE_FOR_OBJECTIVE.get(objective)
        hint = f"use --mode {other} with it, or " if other and flag == "--checkpoint" else ""
        raise EnhanceError(f"{path} holds a {objective} model ({kind} variant); mode {mode!r} "
                           f"({MODE_DESCRIPTIONS[mode]}) needs a {' or '.join(allowed)} checkpoint: {hint}pass "
                           f"{flag} with one (e.g. {default_checkpoint(mode).relative_to(REPO_ROOT)})")
    return model, objective


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


def _uint8_inplace(t: torch.Tensor) -> np.ndarray:
    """(3, H, W) ImageNet-normalised float tensor -> (H, W, 3) uint8, reusing ``t``'s memory (no full-size
    temporaries: at 5120x2880 each float copy is 177 MB). Same arithmetic as ``degrade.to_uint8``."""
    t = t.float()
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
    """One network applied to consecutive frame pairs: padding, flows, tiling, uint8 outputs."""

    def __init__(self, model: STARnet, settings: Settings, device: torch.device) -> None:
        self.model = model.eval().to(device)
        if settings.bf16:
            warn_if_slow_bf16(device, "--bf16")
        if settings.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.settings, self.device, self.cfg = settings, device, model.cfg
        self.multiple, self.min_size = input_geometry(model.cfg)
        tile = settings.tile - settings.tile % self.multiple if settings.tile else 0
        if tile and tile < max(self.min_size, 2 * settings.overlap):
            raise EnhanceError(f"--tile {settings.tile} is too small for this network: use at least "
                               f"{max(self.min_size, 2 * settings.overlap)} px, or 0 for whole frames")
        self.tile = tile
        self.cache = FlowCache(settings.flow_cache, settings.flow_backend)
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="flows") if settings.prefetch_flows else None

    def pad(self, frame: np.ndarray) -> np.ndarray:
        """(H, W, 3) -> (H', W', 3): edge-replicated at the right/bottom to what the network accepts."""
        h, w = frame.shape[:2]
        side = lambda n: max(self.min_size, -(-n // self.multiple) * self.multiple)  # noqa: E731
        hh, ww = side(h), side(w)
        if (hh, ww) == (h, w):
            return frame
        return np.pad(frame, ((0, hh - h), (0, ww - w), (0, 0)), mode="edge")

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
        dev, cl = self.device, self.settings.channels_last
        fmt = torch.channels_last if cl else torch.contiguous_format
        ta = to_tensor(a)[None].to(dev).contiguous(memory_format=fmt)                  # (1, 3, H', W')
        tb = to_tensor(b)[None].to(dev).contiguous(memory_format=fmt)
        ff = fb = None
        if flows is not None:                                                           # (1, 2, H', W') each
            ff, fb = (torch.from_numpy(f).permute(2, 0, 1)[None].to(dev).contiguous(memory_format=fmt)
                      for f in flows)
        h, w = size
        result = {}
        with torch.inference_mode():
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.settings.bf16):
                out = tiled_forward(self.model, ta, tb, ff, fb, tile=self.tile, overlap=self.settings.overlap,
                                    keys=keys, margin=self.settings.margin)
            for k in keys:
                f = out[k].shape[-1] // a.shape[1]                                      # scale of this output
                result[k] = _uint8_inplace(out.pop(k)[0, :, : h * f, : w * f])
        return result

    def close(self) -> None:
        """Stop the flow worker; give the caller's model back in the default memory layout."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        if self.settings.channels_last:
            self.model.to(memory_format=torch.contiguous_format)


def _checked(frames: Iterable[np.ndarray], source: str) -> Iterator[np.ndarray]:
    first: tuple[int, ...] | None = None
    for i, frame in enumerate(frames):
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            desc = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
            raise EnhanceError(f"{source}: frame {i} is {desc}, expected (H, W, 3) uint8 RGB")
        if first is None:
            first = frame.shape
        elif frame.shape != first:
            raise EnhanceError(f"{source}: frame {i} is {frame.shape[1]}x{frame.shape[0]}, frame 0 "
                               f"{first[1]}x{first[0]}; all frames of a clip must have one size: resize or crop them")
        yield frame


def _too_short(source: str, mode: str) -> EnhanceError:
    return EnhanceError(f"{source} holds 1 frame; mode {mode!r} ({MODE_DESCRIPTIONS[mode]}) interpolates between "
                        f"consecutive frames and needs at least 2: pass a longer clip, or --mode s for space only")


def pair_stream(frames: Iterable[np.ndarray], runner: PairRunner, mode: str,
                source: str = "input") -> Iterator[np.ndarray]:
    """One pass of ``mode`` over a stream of (H, W, 3) uint8 frames, yielding output frames as they are ready.

    Pulls one frame ahead of the pair it processes (to know the last pair and to prefetch its flows).
    """
    it = _checked(frames, source)
    a = next(it, None)
    if a is None:
        raise EnhanceError(f"{source} holds no frames; pass a clip with at least one frame")
    size = a.shape[:2]
    b = next(it, None)
    if b is None:
        if mode != "s":
            raise _too_short(source, mode)
        pa = runner.pad(a)
        yield runner.forward(pa, pa, runner.submit_flows(pa, pa).result(), ("sr_t",), size)["sr_t"]
        return
    pa, pb = runner.pad(a), runner.pad(b)
    pending = runner.submit_flows(pa, pb)
    while True:
        c = next(it, None)
        pc = runner.pad(c) if c is not None else None
        following = runner.submit_flows(pb, pc) if pc is not None else None
        keys = {"st": ("sr_t", "sr_mid"), "s": ("sr_t",), "t": ("lr_mid",)}[mode]
        if c is None and mode != "t":
            keys += ("sr_t1",)
        out = runner.forward(pa, pb, pending.result(), keys, size)
        if mode == "t":
            yield a
            yield out["lr_mid"]
        else:
            yield out["sr_t"]
            if mode == "st":
                yield out["sr_mid"]
        if c is None:
            yield b if mode == "t" else out["sr_t1"]
            return
        a, b, pa, pb, pending = b, c, pb, pc, following


def enhance_frames(frames: Iterable[np.ndarray], model: STARnet, mode: str = "st", times: int = 1,
                   model2: STARnet | None = None, settings: Settings | None = None,
                   device: str | torch.device = "auto", source: str = "input") -> Iterator[np.ndarray]:
    """Stream ``mode`` over ``frames`` (``times=2``: then a ``t`` pass with ``model2``); see the module doc.

    ``model`` must be the variant the mode needs (:func:`load_for_mode` checks checkpoints).
    """
    if mode not in MODES:
        raise EnhanceError(f"unknown mode {mode!r}; choose one of {MODES}")
    if times not in (1, 2):
        raise EnhanceError(f"times must be 1 or 2, got {times}")
    if times == 2 and mode == "s":
        raise EnhanceError("--times 2 doubles the frame rate twice; it needs --mode st or t, not s")
    if times == 2 and model2 is None:
        raise EnhanceError("--times 2 needs a STAR-T_HR model for the second pass: pass --checkpoint2")
    settings = settings or Settings()
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    runners = [PairRunner(model, settings, dev)]
    if times == 2:
        runners.append(PairRunner(model2, settings, dev))
    try:
        stream: Iterable[np.ndarray] = pair_stream(frames, runners[0], mode, source)
        if times == 2:
            stream = pair_stream(stream, runners[1], "t", f"{source} (after the first pass)")
        yield from stream
    finally:
        for r in runners:
            r.close()


@dataclass
class _Tally:
    n: int = 0
    size: tuple[int, int] = (0, 0)     # (width, height) of the first frame


def _counted(frames: Iterable[np.ndarray], tally: _Tally) -> Iterator[np.ndarray]:
    for frame in frames:
        if tally.n == 0:
            tally.size = (frame.shape[1], frame.shape[0])
        tally.n += 1
        yield frame


def enhance(input: str | Path, output: str | Path, checkpoint: str | Path | None = None, mode: str = "st",
            times: int = 1, checkpoint2: str | Path | None = None, settings: Settings | None = None,
            device: str = "auto", fps: float | None = None, overwrite: bool = False,
            progress: bool = True) -> EnhanceResult:
    """Read ``input`` (video file, folder of frames or image), enhance it, write ``output`` (video by extension,
    else a folder of PNG frames with ``video.json``). Checkpoints default to the shipped demo ones; for
    ``times=2`` ``checkpoint2`` (STAR-T_HR) defaults to ``checkpoint`` in mode ``t`` and to the demo one otherwise.
    Output fps = input fps x 2**times for ``st``/``t``, unchanged for ``s``."""
    from tqdm.auto import tqdm

    start = time.perf_counter()
    if times not in (1, 2) or (times == 2 and mode == "s"):
        raise EnhanceError(f"--times {times} with --mode {mode}: --times is 1 or 2, and --times 2 (frame rate "
                           f"doubled twice) needs --mode st or t")
    settings = settings or Settings()
    ckpt = Path(checkpoint) if checkpoint else default_checkpoint(mode)
    model, _ = load_for_mode(ckpt, mode)
    model2, ckpt2 = None, None
    if times == 2 and mode != "s":
        ckpt2 = Path(checkpoint2) if checkpoint2 else (ckpt if mode == "t" else DEMO_T_HR)
        model2, _ = load_for_mode(ckpt2, "t", flag="--checkpoint2")
    dev = resolve_device(device)
    clip = open_input(input, fps)
    factor = 1 if mode == "s" else 2**times
    meta = {"source": str(clip.source), "fps_in": clip.fps, "fps_in_from": clip.fps_source, "mode": mode,
            "times": times, "checkpoint": str(ckpt), "checkpoint2": str(ckpt2) if ckpt2 else None,
            "settings": asdict(settings), "git_commit": git_commit()}
    tally_in, tally_out = _Tally(), _Tally()
    sink = open_output(output, clip.fps * factor, overwrite, meta)
    stream = enhance_frames(_counted(clip.frames, tally_in), model, mode, times, model2, settings, dev,
                            str(clip.source))
    n = clip.n_frames
    expected = None if n is None else (n if mode == "s" else (n - 1) * factor + 1)   # output frames
    bar = tqdm(_counted(stream, tally_out), total=expected, unit="frame", desc=f"enhance {mode} (output frames)",
               disable=not progress)
    try:
        for frame in bar:
            sink.write(frame)
        sink.finish()
    except BaseException:
        sink.abort()
        raise
    finally:
        bar.close()
    return EnhanceResult(Path(output), tally_in.n, tally_out.n, clip.fps, clip.fps * factor, tally_in.size,
                         tally_out.size, time.perf_counter() - start, str(dev))


__all__ = ["DEMO_ST", "DEMO_T_HR", "EnhanceError", "EnhanceResult", "MODES", "PairRunner", "Settings",
           "default_checkpoint", "enhance", "enhance_frames", "input_geometry", "load_for_mode", "pair_stream",
           "resolve_device"]
