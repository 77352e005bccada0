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
:func:`starlib.infer.tiling.tiled_forward` for the overlap blending; :class:`starlib.infer.runner.PairRunner`
runs each pair (the same runner scoring uses).

Frame sizes: the network accepts any size of at least its flow U-Net's minimum (8 px for the ``cpu``
widths; 16 px when it uses flows, for the OpenCV flow backends) and, with the HR T-SR path, scale * size
divisible by 4. Frames that do not fit are *padded* by edge replication at the right/bottom and the outputs
cropped back, so outputs are exactly ``scale`` times (``st``/``s``) or exactly as large as (``t``) the inputs;
nothing is modcropped.

Failures: everything that can be checked before computing is (checkpoints, ``fps``, the output path against
the input: :func:`starlib.infer.videoio.check_output`); a checkpoint with NaN/inf weights is refused when
loaded, a non-finite network output when it appears (:class:`NonFiniteOutputError`, naming the frames). A run
that fails, is interrupted or terminated (SIGTERM/SIGHUP) leaves no temporary output and an earlier output as
it was (:mod:`starlib.infer.videoio`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from starlib.infer.modes import (DEMO_DIR, DEMO_ST, DEMO_T_HR, ENHANCE_MODES, SECOND_PASS, EnhanceMode,
                                enhance_mode)
from starlib.infer.runner import EnhanceError, NonFiniteOutputError, PairRunner, Settings, input_geometry
from starlib.infer.videoio import Terminated, check_fps, check_output, cleanup_on_signals, open_input, open_output
from starlib.models import STARnet, load_checkpoint
from starlib.models.checkpoint import MAX_PARAMETERS
from starlib.paper.objectives import OBJECTIVES
from starlib.util.hardware import DeviceUnavailable
from starlib.util.hardware import resolve_device as hardware_resolve_device
from starlib.util.paths import REPO_ROOT
from starlib.util.provenance import git_commit

MODES = tuple(ENHANCE_MODES)
MODE_DESCRIPTIONS = {m.name: m.description for m in ENHANCE_MODES.values()}


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


def default_checkpoint(mode: EnhanceMode) -> Path:
    """The shipped demo checkpoint for ``mode`` (trained under the ``cpu`` profile)."""
    return mode.demo


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU (:func:`starlib.util.hardware.resolve_device`)."""
    try:
        return hardware_resolve_device(name, flag="--device")
    except DeviceUnavailable as exc:
        raise EnhanceError(str(exc)) from exc


def objectives_for_mode(mode: EnhanceMode) -> tuple[str, ...]:
    """The objectives whose networks serve ``mode``, preferred first (:meth:`EnhanceMode.objectives`)."""
    return mode.objectives()


def load_for_mode(path: str | Path, mode: EnhanceMode, flag: str = "--checkpoint",
                  max_parameters: int = MAX_PARAMETERS) -> tuple[STARnet, str]:
    """Load a checkpoint (at most ``max_parameters`` parameters) and check that its variant serves ``mode``;
    returns ``(model, objective)``."""
    path = Path(path)
    if path.is_dir():
        inside = path / "model.pt"
        example = inside if inside.is_file() else "runs/<profile>/<objective>-<hash>/model.pt"
        raise EnhanceError(f"{flag} {path} is a folder, not a checkpoint file; pass the model file itself "
                           f"(e.g. {flag} {example})")
    if not path.is_file():
        hint = (" It is the demo checkpoint shipped in git: restore it with `git checkout -- checkpoints/demo`."
                if path.parent == DEMO_DIR else "")
        raise FileNotFoundError(f"checkpoint {path} does not exist.{hint} Pass {flag} PATH of a trained model "
                                f"(runs/<profile>/<objective>-<hash>/model.pt)")
    model, extra = load_checkpoint(path, max_parameters=max_parameters)   # refuses non-finite weights too
    objective = extra.get("objective")
    allowed = mode.objectives()
    if objective is None:
        raise EnhanceError(f"{path} does not record the objective it was trained for, so its variant is unknown; "
                           f"re-save it with starlib.models.save_checkpoint(model, path, extra={{'objective': "
                           f"'{allowed[0]}'}}) naming the objective it was really trained with")
    if objective not in allowed:
        record = OBJECTIVES.get(objective)
        kind = "an HR-input" if record is not None and record.inputs == "hr" else "an LR-input"
        other = record.enhance_mode if record is not None else None
        hint = f"use --mode {other} with it, or " if other and flag == "--checkpoint" else ""
        raise EnhanceError(f"{path} holds a {objective} model ({kind} variant); mode {mode.name!r} "
                           f"({mode.description}) needs a {' or '.join(allowed)} checkpoint: {hint}pass "
                           f"{flag} with one (e.g. {mode.demo.relative_to(REPO_ROOT)})")
    return model, objective


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


def _too_short(source: str, mode: EnhanceMode) -> EnhanceError:
    return EnhanceError(f"{source} holds 1 frame; mode {mode.name!r} ({mode.description}) interpolates between "
                        f"consecutive frames and needs at least 2: pass a longer clip, or --mode s for space only")


def _interpolating() -> str:
    """The modes that double the frame rate, for messages: ``st or t``."""
    return " or ".join(m.name for m in ENHANCE_MODES.values() if m.interpolates)


def _frame_name(i: int, names: Sequence[str] | None) -> str:
    return f"frame {i} ({names[i]})" if names is not None and i < len(names) else f"frame {i}"


def pair_stream(frames: Iterable[np.ndarray], runner: PairRunner, mode: EnhanceMode, source: str = "input",
                names: Sequence[str] | None = None) -> Iterator[np.ndarray]:
    """One pass of ``mode`` over a stream of (H, W, 3) uint8 frames, yielding output frames as they are ready.

    Pulls one frame ahead of the pair it processes (to know the last pair and to prefetch its flows).
    ``names`` (file names of the frames, when known) go into errors about a pair.
    """
    def forward(pair: str, a: np.ndarray, b: np.ndarray, flows: object, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
        try:
            return runner.forward(a, b, flows, keys, size)
        except NonFiniteOutputError as exc:
            raise NonFiniteOutputError(f"{source}: {pair}: {exc}", exc.output) from exc

    it = _checked(frames, source)
    a = next(it, None)
    if a is None:
        raise EnhanceError(f"{source} holds no frames; pass a clip with at least one frame")
    size = a.shape[:2]
    b = next(it, None)
    if b is None:
        if mode.interpolates or mode.frame_key is None:
            raise _too_short(source, mode)
        pa = runner.pad(a)
        key = mode.frame_key
        yield forward(_frame_name(0, names), pa, pa, runner.submit_flows(pa, pa).result(), (key,))[key]
        return
    pa, pb = runner.pad(a), runner.pad(b)
    pending = runner.submit_flows(pa, pb)
    i = 0                                   # index of frame a
    while True:
        c = next(it, None)
        pc = runner.pad(c) if c is not None else None
        following = runner.submit_flows(pb, pc) if pc is not None else None
        keys = mode.pair_keys(last=c is None)
        out = forward(f"{_frame_name(i, names)} and {_frame_name(i + 1, names)}", pa, pb, pending.result(), keys)
        yield a if mode.frame_key is None else out[mode.frame_key]
        if mode.mid_key is not None:
            yield out[mode.mid_key]
        if c is None:
            yield b if mode.last_key is None else out[mode.last_key]
            return
        a, b, pa, pb, pending = b, c, pb, pc, following
        i += 1


def enhance_frames(frames: Iterable[np.ndarray], model: STARnet, mode: EnhanceMode = ENHANCE_MODES["st"],
                   times: int = 1, model2: STARnet | None = None, settings: Settings | None = None,
                   device: str | torch.device = "auto", source: str = "input",
                   names: Sequence[str] | None = None) -> Iterator[np.ndarray]:
    """Stream ``mode`` over ``frames`` (``times=2``: then a ``t`` pass with ``model2``); see the module doc.

    ``model`` must be the variant the mode needs (:func:`load_for_mode` checks checkpoints); ``names`` (the
    frames' file names) are used in errors about a pair.
    """
    if times not in (1, 2):
        raise EnhanceError(f"times must be 1 or 2, got {times}")
    if times == 2 and not mode.interpolates:
        raise EnhanceError(f"--times 2 doubles the frame rate twice; it needs --mode {_interpolating()}, not "
                           f"{mode.name}")
    if times == 2 and model2 is None:
        raise EnhanceError("--times 2 needs a STAR-T_HR model for the second pass: pass --checkpoint2")
    settings = settings or Settings()
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    runners = [PairRunner(model, settings, dev)]
    if times == 2:
        runners.append(PairRunner(model2, settings, dev))
    try:
        stream: Iterable[np.ndarray] = pair_stream(frames, runners[0], mode, source, names)
        if times == 2:
            stream = pair_stream(stream, runners[1], SECOND_PASS, f"{source} (after the first pass)")
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


def enhance(input: str | Path, output: str | Path, checkpoint: str | Path | None = None,
            mode: EnhanceMode = ENHANCE_MODES["st"],
            times: int = 1, checkpoint2: str | Path | None = None, settings: Settings | None = None,
            device: str = "auto", fps: float | None = None, overwrite: bool = False,
            progress: bool = True, max_parameters: int = MAX_PARAMETERS) -> EnhanceResult:
    """Read ``input`` (video file, folder of frames or image), enhance it, write ``output`` (video by extension,
    else a folder of PNG frames with ``video.json``). Checkpoints default to the shipped demo ones; for
    ``times=2`` ``checkpoint2`` (STAR-T_HR) defaults to ``checkpoint`` in mode ``t`` and to the demo one otherwise.
    Output fps = input fps x 2**times for ``st``/``t``, unchanged for ``s``. Checkpoints describing more than
    ``max_parameters`` parameters are refused (the command line passes ``$STARLIB_MAX_PARAMETERS`` when set)."""
    from starlib.util.progress import progress_bar

    start = time.perf_counter()
    if times not in (1, 2) or (times == 2 and not mode.interpolates):
        raise EnhanceError(f"--times {times} with --mode {mode.name}: --times is 1 or 2, and --times 2 (frame rate "
                           f"doubled twice) needs --mode {_interpolating()}")
    fps = check_fps(fps)
    check_output(output, overwrite, input)          # before anything is loaded or computed
    settings = settings or Settings()
    ckpt = Path(checkpoint) if checkpoint else mode.demo
    model, _ = load_for_mode(ckpt, mode, max_parameters=max_parameters)
    model2, ckpt2 = None, None
    if times == 2:
        ckpt2 = Path(checkpoint2) if checkpoint2 else (ckpt if mode == SECOND_PASS else SECOND_PASS.demo)
        model2, _ = load_for_mode(ckpt2, SECOND_PASS, flag="--checkpoint2", max_parameters=max_parameters)
    dev = resolve_device(device)
    clip = open_input(input, fps)
    factor = mode.fps_factor(times)
    meta = {"source": str(clip.source), "fps_in": clip.fps, "fps_in_from": clip.fps_source, "mode": mode.name,
            "times": times, "checkpoint": str(ckpt), "checkpoint2": str(ckpt2) if ckpt2 else None,
            "settings": asdict(settings), "git_commit": git_commit()}
    tally_in, tally_out = _Tally(), _Tally()
    n = clip.n_frames
    expected = None if n is None else mode.frames_out(n, times)   # output frames
    bar = None
    with cleanup_on_signals():          # SIGTERM/SIGHUP: the sink's abort still runs
        sink = open_output(output, clip.fps * factor, overwrite, meta, source=input)
        try:
            stream = enhance_frames(_counted(clip.frames, tally_in), model, mode, times, model2, settings, dev,
                                    str(clip.source), clip.names)
            bar = progress_bar(_counted(stream, tally_out), total=expected, unit="frame",
                              desc=f"enhance {mode.name} (output frames)", disable=not progress)
            for frame in bar:
                sink.write(frame)
            sink.finish()
        except BaseException as exc:
            sink.abort()
            if isinstance(exc, Terminated):
                print(f"enhance: {exc}; nothing written to {output} (an earlier output there is unchanged)",
                      file=sys.stderr)
            raise
        finally:
            if bar is not None:
                bar.close()
    return EnhanceResult(Path(output), tally_in.n, tally_out.n, clip.fps, clip.fps * factor, tally_in.size,
                         tally_out.size, time.perf_counter() - start, str(dev))


__all__ = ["DEMO_DIR", "DEMO_ST", "DEMO_T_HR", "ENHANCE_MODES", "EnhanceError", "EnhanceMode", "EnhanceResult",
           "MODES", "NonFiniteOutputError", "Settings", "default_checkpoint", "enhance", "enhance_frames",
           "enhance_mode", "input_geometry", "load_for_mode", "objectives_for_mode", "pair_stream", "resolve_device"]
