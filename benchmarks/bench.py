"""Speed and memory of STARnet and of the enhance pipeline, measured in one run -> ``results/benchmarks.csv``.

    python benchmarks/bench.py --profile cpu            # cpu and paper widths (minutes to an hour on a CPU)
    python benchmarks/bench.py --device cuda            # cpu, gpu, paper widths on a GPU -> results/benchmarks_cuda.csv
    make bench DEVICE=cuda                              # the same
    python benchmarks/bench.py --quick --out /tmp/b.csv # smoke widths, tiny sizes: checks that the script works

One row per measurement, columns ``measurement, config, value, unit, ratio, ratio_of, notes`` and the
provenance columns (profile, git commit, machine, torch threads, wall time ...). Measurements:

(a) ``forward_output_fps``, ``forward_peak_rss_mib``: STARnet forward only (``torch.inference_mode``, fp32) at
    each width for 448x256 output frames (LR 112x64), 2 output frames (``sr_t``, ``sr_mid``) per forward; each
    width runs in a fresh process, whose ``ru_maxrss`` is the peak memory (interpreter and torch included; the
    notes give the resident size before the first forward). Untrained weights: speed does not depend on them.
    On CUDA the memory row is ``forward_peak_gpu_mib`` (``torch.cuda.max_memory_allocated``), and each width is
    also timed under bfloat16 autocast.
(b) ``flow_pair_seconds``: each OpenCV flow backend, both flows of one LR pair (a->b and b->a, what one forward
    needs) on real frames at 112x64; ratio = that time / one network forward at ``cpu`` widths.
(c) ``clip_output_fps``: enhancing a short real clip (``st`` mode, the demo checkpoint) through
    ``starlib.infer.enhance.enhance_frames`` against a straightforward reference path (fp32, default memory layout,
    ``torch.no_grad``, flows computed inline, no flow cache, no tiling); ratio = speed-up over the reference.
    ``clip_max_abs_diff``: the largest difference between each path's uint8 frames and the reference's.
    The bf16 variant is skipped where bf16 is emulated (AVX2-only CPUs: ~80x slower than fp32).
(d) ``network_gflop_per_s``: FLOPs of one forward (``torch.utils.flop_counter.FlopCounterMode``) / its time;
    ratio = that / the fp32 matrix-multiply throughput of this machine measured in the same run (``torch.mm``, best
    of the repeats: a ceiling; on CUDA TF32 and bf16 against the TF32 and bf16 ``torch.mm``).
(e) ``train_step_seconds``: one optimiser step of the STAR objective (forward, L1 losses with the auxiliary
    outputs and the flow-refinement loss, backward, Adamax) through ``starlib.train.train`` at each width's
    profile batch size and crop, on synthetic batches; the notes give what the profile's whole schedule
    (STAR, then the four finetunes) would take at that speed. On a CPU only the first width is trained
    (``--train-widths`` to choose); at ``cpu`` widths also with each of :data:`CPU_TRAIN_ALTERNATIVES`
    (channels-last, one thread, batch 8, 32-px crops, real batches from the training clips), as ratios to the
    profile's own step; on CUDA the :data:`SPEED_SWITCHES` (torch.compile, strict fp32, Adamax loop) at ``gpu``
    and ``paper`` widths and the paper profile's faster, less faithful settings (micro-batches of 5, bf16).
    ``train_gflop_per_s``: the FLOPs of the step's forward+backward (counted on the meta device) / its time,
    against the matmul ceiling of its precision (TF32 on CUDA unless strict fp32; fp32 on the CPU).
(g) ``seconds_per_output_frame``: the networks trained elsewhere (BasicVSR, RIFE v4.0 from their published weights;
    docs/published_models.md), their cascades and STAR-ST at each width, each called the way the tables call it
    on one real LR pair (flows computed inline where a method needs them), at the same input size in one run;
    seconds per call / the output frames the call stands for (2 for ST-SR on a pair: a key frame and an
    in-between frame of a 2x stream; 2 for BasicVSR on the pair, N on an N-frame clip; 1 for RIFE); ratio =
    that / STAR-ST's at the first width. Skipped with a message when the published wheels are not installed.
(f) ``enhance_peak_rss_mib``: ``starlib.infer.enhance.enhance`` (the command line's path: read, tile, write PNGs) on
    real 1280x720 frames in a fresh process with the demo checkpoint; its ``ru_maxrss`` against the 4 GiB bound
    set for CPU runs (ratio = peak / 4096 MiB).

Importable: ``run(...)`` returns the rows; ``main(argv)`` is the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from starlib.data.degrade import flow_to_tensor, make_lr, to_tensor, to_uint8
from starlib.data.images import read_rgb
from starlib.data.sources import toflow_frames
from starlib.infer.enhance import DEMO_ST, ENHANCE_MODES, Settings, enhance_frames, load_for_mode
from starlib.flow import BACKENDS, DEFAULT_BACKEND, compute_flow, normalize_flow
from starlib.util.hardware import native_bf16, tf32_arithmetic
from starlib.models import STARnet
from starlib.models.flops import count_flops, count_train_flops
from starlib.study.setup.profile import load_profile
from starlib.util.paths import REPO_ROOT
from starlib.util.provenance import provenance, write_results_csv

COLUMNS = ("measurement", "config", "value", "unit", "ratio", "ratio_of", "notes")
LR_SIZE = (64, 112)            # (h, w): 448x256 output frames
QUICK_LR_SIZE = (24, 32)
PUBLISHED_QUICK_LR_SIZE = (36, 40)   # BasicVSR's SPyNet needs sides over 32 px


# --- helpers -------------------------------------------------------------------------------------------

def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _timings(fn, repeats: int, warmup: int = 1, device: str = "cpu") -> list[float]:
    """Seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones (synchronised on CUDA)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return times


def _median_seconds(fn, repeats: int, warmup: int = 1, device: str = "cpu") -> float:
    return statistics.median(_timings(fn, repeats, warmup, device))


def _rss_mib() -> float:
    """Current resident set size of this process (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _maxrss_mib(maxrss: int) -> float:
    """``ru_maxrss`` in MiB: it is bytes on macOS, KiB on Linux."""
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


def _peak_rss_mib() -> float:
    return _maxrss_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _duration(hours: float) -> str:
    return f"{hours * 60:.1f} min" if hours < 1 else f"{hours:,.1f} h ({hours / 24:.1f} days)" if hours > 48 else f"{hours:.1f} h"


def _machine(device: str = "cpu") -> str:
    if device == "cuda":
        return f"{torch.cuda.get_device_name()} (CUDA {torch.version.cuda}), {os.cpu_count()} logical cores"
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} logical cores, {platform.system()}"


def real_frames(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    """n consecutive real frames (embedded TOFlow clip, 1280x720) made into LR frames of ``size`` (h, w):
    resized to 4x ``size`` (Pillow bicubic), then the repository's LR degradation (bicubic x1/4)."""
    from PIL import Image

    h, w = size
    root = toflow_frames()
    out = []
    for i in range(1, n + 1):
        hr = np.asarray(Image.fromarray(read_rgb(root / f"{i:02d}.png")).resize((4 * w, 4 * h), Image.BICUBIC))
        out.append(make_lr(hr, 4)[1])
    return out


def _flow_tensors(a: np.ndarray, b: np.ndarray, backend: str = DEFAULT_BACKEND) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised flows a->b, b->a as (1, 2, h, w) tensors, computed inline (no cache)."""
    return tuple(flow_to_tensor(normalize_flow(compute_flow(x, y, backend)))[None]
                 for x, y in ((a, b), (b, a)))


# --- (g): networks trained elsewhere, their cascades and STAR, per output frame ---------------------------

def published_rows(widths: tuple[str, ...], size: tuple[int, int], repeats: int, device: str, on: str,
                   quick: bool = False) -> list[dict[str, Any]]:
    """Seconds per output frame of BasicVSR, RIFE, their cascades and STAR-ST (each width), as ratios to STAR-ST
    at ``widths[0]``; [] (with a message) when the published wheels are missing. ``quick``: no warm-up call, and
    of the cascades only BasicVSR -> RIFE and no whole-clip BasicVSR (BasicVSR is ~13 GFLOP per LR frame of
    40x36: these checks of the script would otherwise take a minute on 2 cores)."""
    from starlib.data.samples import FrameStack
    from starlib.evaluation.cascades import SpaceThenTime, TimeThenSpace
    from starlib.evaluation.published import BasicVSRMethod, RIFEInterpolator, super_resolve_clip
    from starlib.flow import FlowCache
    from starlib.infer.runner import STARMethod
    from starlib.published.weights import PublishedWeightsError

    frames = real_frames(5, size)
    pair = FrameStack("bench", [], frames[:2])
    cache = FlowCache(None, DEFAULT_BACKEND)            # flows computed inline, never stored
    basicvsr, rife = BasicVSRMethod(device), RIFEInterpolator(device=device)
    try:
        basicvsr.net, rife.net                          # load (SHA256 check) before any timing
    except PublishedWeightsError as exc:
        print(f"skipping the published networks: {exc}", file=sys.stderr)
        return []
    calls: dict[str, tuple[Any, int, str]] = {}
    for w in widths:
        star = STARMethod(STARnet(load_profile(w).model).eval(), cache, device=device)
        calls[f"STAR-ST, {w} widths"] = (lambda m=star: m(pair), 2,
                                         f"untrained weights (speed does not depend on them); flows "
                                         f"({DEFAULT_BACKEND}) inline; sr_t, sr_mid, sr_t1 per call")
    calls["BasicVSR, input pair"] = (lambda: basicvsr(pair), 2, "published weights; sr_t, sr_t1")
    if not quick:
        calls[f"BasicVSR, {len(frames)}-frame clip"] = (lambda: super_resolve_clip(frames, basicvsr.net),
                                                        len(frames), "published weights; every frame of the clip")
    calls["RIFE, LR pair"] = (lambda: rife(frames[0], frames[1]), 1, "published weights; the in-between LR frame")
    cascades = {"BasicVSR -> RIFE": SpaceThenTime(basicvsr, rife, interpolate=False),
                "RIFE -> BasicVSR": TimeThenSpace(rife, basicvsr, interpolate=False),
                f"BasicVSR -> {DEFAULT_BACKEND} flow interp.": SpaceThenTime(basicvsr, cache)}
    for label, method in list(cascades.items())[:1 if quick else None]:
        calls[label] = (lambda m=method: m(pair), 2, "published weights; as Table 7 calls it (both key frames and "
                                                     "the in-between frame per pair)")
    seconds = {label: _median_seconds(fn, repeats, 0 if quick else 1, device) / n
               for label, (fn, n, _) in calls.items()}
    base = f"STAR-ST, {widths[0]} widths"
    h, w = size
    return [{"measurement": "seconds_per_output_frame", "config": f"{label}, LR {w}x{h}{on}", "value": v,
             "unit": "s", "ratio": v / seconds[base], "ratio_of": base,
             "notes": f"{calls[label][2]}; median of {repeats} calls / {calls[label][1]} output frames"}
            for label, v in seconds.items()]


# --- (a) + (d): one width, in a fresh process ------------------------------------------------------------

def forward_worker(width: str, size: tuple[int, int], repeats: int, threads: int,
                   device: str = "cpu") -> dict[str, Any]:
    """Time STARnet forwards at ``width`` widths; run in a fresh process so ru_maxrss is this width's peak.
    On CUDA also under bfloat16 autocast, with the peak GPU memory of the fp32 forwards."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = STARnet(load_profile(width).model).eval()
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1, 3, *size, generator=g), torch.randn(1, 3, *size, generator=g)   # (1, 3, h, w)
    ff, fb = 0.02 * torch.randn(1, 2, *size, generator=g), 0.02 * torch.randn(1, 2, *size, generator=g)
    model.to(device)
    a, b, ff, fb = (t.to(device) for t in (a, b, ff, fb))
    rss_before = _rss_mib()
    gpu_before = torch.cuda.memory_allocated() / 2**20 if device == "cuda" else 0.0

    def forward(bf16: bool = False) -> None:
        with torch.inference_mode(), torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
            model(a, b, ff, fb)

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = _median_seconds(forward, repeats, device=device)
    result = {"seconds": seconds, "peak_rss_mib": _peak_rss_mib(), "rss_before_mib": rss_before,
              "flops": count_flops(model, size), "params": sum(p.numel() for p in model.parameters()),
              "threads": torch.get_num_threads()}
    if device == "cuda":
        result |= {"peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20, "gpu_before_mib": gpu_before,
                   "seconds_bf16": _median_seconds(lambda: forward(True), repeats, device=device)}
    return result


def _run_worker(width: str, size: tuple[int, int], repeats: int, threads: int, device: str = "cpu") -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(
        {"width": width, "size": list(size), "repeats": repeats, "threads": threads, "device": device})]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    if res.returncode != 0:
        raise RuntimeError(f"benchmark worker for {width} widths failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# --- (d): the machine's matmul throughput ----------------------------------------------------------------

def matmul_gflops(n: int, repeats: int, device: str = "cpu", dtype: torch.dtype = torch.float32,
                  tf32: bool = False) -> float:
    """``torch.mm`` of two n x n matrices: 2 n^3 FLOPs / median seconds. fp32 stays fp32 unless ``tf32``
    (CUDA: TensorFloat-32 tensor cores, what cuDNN convolutions use by default)."""
    g = torch.Generator().manual_seed(0)
    x, y = (torch.randn(n, n, generator=g).to(device, dtype) for _ in range(2))
    with tf32_arithmetic(allowed=tf32):   # a ceiling: the best of the repeats (the network's rows: the median)
        seconds = min(_timings(lambda: torch.mm(x, y), repeats, device=device))
    return 2 * n**3 / seconds / 1e9


# --- (c): the end-to-end clip against a reference path ---------------------------------------------------

def reference_enhance(frames: list[np.ndarray], model: STARnet, device: str = "cpu") -> list[np.ndarray]:
    """The straightforward path: whole frames, fp32, default layout, no_grad, flows computed inline, no cache.
    Same outputs as ``st`` mode: sr_t, sr_mid of each pair, sr_t1 of the last pair."""
    model.eval().to(device)
    outs: list[np.ndarray] = []
    with torch.no_grad():
        for i in range(len(frames) - 1):
            a, b = frames[i], frames[i + 1]
            flows = (f.to(device) for f in _flow_tensors(a, b))
            out = model(to_tensor(a)[None].to(device), to_tensor(b)[None].to(device), *flows)
            outs += [to_uint8(out["sr_t"][0].cpu()), to_uint8(out["sr_mid"][0].cpu())]
            if i == len(frames) - 2:
                outs.append(to_uint8(out["sr_t1"][0].cpu()))
    return outs


PIPELINE_VARIANTS: dict[str, Settings] = {
    "pipeline (default settings)": Settings(),
    "pipeline + channels_last": Settings(channels_last=True),
    "pipeline + bf16 autocast": Settings(bf16=True),
}


def clip_rows(model: STARnet, frames: list[np.ndarray], repeats: int, model_name: str,
              device: str = "cpu") -> list[dict[str, Any]]:
    n_out = 2 * len(frames) - 1
    cfg = f"st mode, {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]} -> {n_out} frames, {model_name}"
    ref_out: list[np.ndarray] = []

    def ref() -> None:
        ref_out[:] = reference_enhance(frames, model, device)

    ref_s = _median_seconds(ref, repeats, device=device)
    rows = [{"measurement": "clip_output_fps", "config": f"reference path; {cfg}", "value": n_out / ref_s,
             "unit": "output frames/s", "ratio": 1.0, "ratio_of": "reference path",
             "notes": "fp32, default layout, no_grad, whole frames, flows inline, no cache"}]
    for name, settings in PIPELINE_VARIANTS.items():
        if settings.bf16 and not native_bf16(device):
            print(f"skipping '{name}': bf16 is emulated on this {device} ({torch.backends.cpu.get_cpu_capability()})",
                  file=sys.stderr)
            continue
        out: list[np.ndarray] = []

        def pipe() -> None:
            out[:] = list(enhance_frames(iter(frames), model, ENHANCE_MODES["st"], settings=settings, device=device))

        s = _median_seconds(pipe, repeats, device=device)
        diff = max(int(np.abs(o.astype(int) - r.astype(int)).max()) for o, r in zip(out, ref_out))
        rows.append({"measurement": "clip_output_fps", "config": f"{name}; {cfg}", "value": n_out / s,
                     "unit": "output frames/s", "ratio": ref_s / s, "ratio_of": "reference path",
                     "notes": f"inference_mode, flows of the next pair on a worker thread, tile {settings.tile} px"})
        rows.append({"measurement": "clip_max_abs_diff", "config": f"{name}; {cfg}", "value": diff,
                     "unit": "uint8 levels", "ratio": float("nan"), "ratio_of": "",
                     "notes": "largest |pipeline - reference| over all output pixels"})
    return rows


# --- (e): training steps --------------------------------------------------------------------------------

class SyntheticBatches:
    """Random batches shaped like ``RandomCropWindows`` batches (3-frame windows, LR inputs, flows, FR targets):
    speed does not depend on the pixel values. ``batch(step, indices)`` as the trainer calls it."""

    def __init__(self, lr_size: tuple[int, int], scale: int = 4) -> None:
        g = torch.Generator().manual_seed(0)
        h, w = lr_size
        self.item = {"hr": torch.rand(3, 3, scale * h, scale * w, generator=g),   # (frames, 3, H, W)
                     "lr": torch.rand(3, 3, h, w, generator=g),                   # (frames, 3, h, w)
                     **{k: 0.02 * torch.randn(2, h, w, generator=g)
                        for k in ("flow_fwd", "flow_bwd", "flow_fwd_gt", "flow_bwd_gt")}}

    def batch(self, step: int, indices) -> dict[str, torch.Tensor]:
        n = len(indices)
        return {k: v[None].expand(n, *v.shape).clone() for k, v in self.item.items()}


def train_step_seconds(width: str, repeats: int, device: str, full_frame: tuple[int, int], data: str = "synthetic",
                       threads: int | None = None, **overrides: Any) -> dict[str, Any]:
    """Median seconds of one STAR optimiser step at ``width``'s profile batch and crop (``starlib.train``);
    ``overrides`` change the profile's TrainConfig (e.g. ``micro_batch``, ``bf16``, ``channels_last``,
    ``patch``, ``batch_size``). ``data="real"``: batches from the profile's training clips
    (``RandomCropWindows``, flows from the cache) instead of synthetic ones, so the step includes making the
    batch; ``threads``: torch threads for this measurement only."""
    import tempfile

    from starlib.data import RandomCropWindows
    from starlib.study.trainings.recipes import train_config, training_split
    from starlib.train import train

    prof = load_profile(width)
    cfg = train_config(prof, "STAR", **overrides)
    size = full_frame if cfg.patch == 0 else (cfg.patch, cfg.patch)
    if data == "real":
        from starlib.study.setup.workspace import Workspace

        batches = RandomCropWindows(training_split(prof)[0], patch=cfg.patch, scale=prof.model.scale,
                                    samples_per_epoch=10**9, flow_cache=Workspace.create(prof, progress=False).flows,
                                    seed=cfg.seed)
    elif data == "synthetic":
        batches = SyntheticBatches(size)
    else:
        raise ValueError(f"data must be 'synthetic' or 'real', got {data!r}")
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    warmup = 2
    cfg = dataclasses.replace(cfg, steps=warmup + repeats, checkpoint_every=10**9, log_every=10**9)
    stamps: list[float] = []

    def on_step(step: int, parts: dict) -> None:   # parts are floats: the step has finished on the device
        stamps.append(time.perf_counter())

    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            train(prof.model, cfg, batches, data, runs_dir=tmp, device=device, progress=False, on_step=on_step)
    finally:
        torch.set_num_threads(before)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
    steps = [b - a for a, b in zip(stamps[warmup - 1:], stamps[warmup:])]
    full = train_config(prof, "STAR").steps + sum(train_config(prof, o).steps
                                                  for o in ("STAR-ST", "STAR-S", "STAR-T_LR", "STAR-T_HR"))
    flops = count_train_flops(prof.model, size, cfg.batch_size)
    return {"seconds": statistics.median(steps), "batch_size": cfg.batch_size, "size": size, "flops": flops,
            "compile": cfg.compile, "strict_fp32": cfg.strict_fp32, "adamax": cfg.adamax,
            "schedule_steps": full, "micro_batch": cfg.micro_batch, "bf16": cfg.bf16, "peak_gpu_mib": peak,
            "channels_last": cfg.channels_last, "data": data, "threads": threads or before}


# faster, less faithful settings of the paper profile, timed on CUDA beside its own (BatchNorm in FR then sees
# 5 items instead of the authors' 1; bf16 autocast changes the arithmetic)
# issue 13 item 4: torch.compile (inductor), strict fp32 (TF32 off), Adamax one parameter at a time (torch's CUDA
# default is the multi-tensor foreach path)
SPEED_SWITCHES: tuple[dict[str, Any], ...] = ({"compile": "inductor"}, {"strict_fp32": True}, {"adamax": "loop"})
TRAIN_ALTERNATIVES: dict[str, tuple[dict[str, Any], ...]] = {
    "paper": (*SPEED_SWITCHES, {"micro_batch": 5}, {"bf16": True}), "gpu": SPEED_SWITCHES}
# the cpu profile's step on 2 cores (issue 12): layout, threads, batch and crop sizes, and the real data path
CPU_TRAIN_ALTERNATIVES: tuple[dict[str, Any], ...] = ({"channels_last": True}, {"threads": 1}, {"batch_size": 8},
                                                     {"patch": 32}, {"data": "real"})


# --- (f): peak memory of the enhance command on 1280x720 frames --------------------------------------------

ENHANCE_CHILD = """
import json, resource, sys
from starlib.infer.enhance import Settings, enhance
r = enhance(sys.argv[1], sys.argv[2], device=sys.argv[3], settings=Settings(tile=int(sys.argv[4])), progress=False)
print(json.dumps({"maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "frames_out": r.frames_out,
                  "size_out": list(r.size_out), "seconds": r.seconds}))
"""
MEMORY_BOUND_MIB = 4096
ENHANCE_TILE = Settings().tile    # the enhance command's default tile (input px)


def enhance_peak(n_frames: int, crop: tuple[int, int] | None, device: str, threads: int,
                 tile: int = ENHANCE_TILE) -> dict[str, Any]:
    """Run ``enhance`` (st mode) on ``n_frames`` real 1280x720 frames (or a ``crop`` (h, w) of them) in a
    fresh process; returns its peak resident memory and what it wrote."""
    import tempfile

    from starlib.data.images import write_png

    root = toflow_frames()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i in range(1, n_frames + 1):
            frame = read_rgb(root / f"{i:02d}.png")
            write_png(src / f"{i:02d}.png", frame if crop is None else frame[:crop[0], :crop[1]].copy())
        size_in = read_rgb(src / "01.png").shape[:2]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        res = subprocess.run([sys.executable, "-c", ENHANCE_CHILD, str(src), str(Path(tmp) / "out"), device,
                              str(tile)], capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    if res.returncode != 0:
        raise RuntimeError(f"enhance benchmark failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return {"peak_mib": _maxrss_mib(out["maxrss"]), "size_in": size_in, **out}


# --- the whole run ---------------------------------------------------------------------------------------

def run(profile: str = "cpu", out: str | Path | None = None, quick: bool = False,
        widths: tuple[str, ...] | None = None, repeats: int | None = None, threads: int | None = None,
        clip_frames: int | None = None, matmul_n: int | None = None, device: str = "cpu",
        train_widths: tuple[str, ...] | None = None, alternatives_on: bool = True) -> list[dict[str, Any]]:
    """Measure (a)-(f) on ``device`` and write ``out`` atomically (again after each training measurement, the
    last ones); returns the rows (without provenance). ``alternatives_on=False``: each profile's own training
    step only."""
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device; run with --device cpu")
    out = Path(out) if out else REPO_ROOT / "results" / ("benchmarks.csv" if device == "cpu" else "benchmarks_cuda.csv")
    start = time.perf_counter()
    threads = threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    widths = widths or (("smoke",) if quick else ("cpu", "gpu", "paper") if device == "cuda" else ("cpu", "paper"))
    if train_widths is None:
        train_widths = widths if device == "cuda" else widths[:1]
    size = QUICK_LR_SIZE if quick else LR_SIZE
    repeats = repeats or (1 if quick else 10 if device == "cuda" else 3)   # GPU timings of small kernels are noisier
    out_size = f"LR {size[1]}x{size[0]} -> {4 * size[1]}x{4 * size[0]}"
    on = "" if device == "cpu" else f" on {device}"
    rows: list[dict[str, Any]] = []

    # (a) forward speed and memory, one fresh process per width
    fwd = {w: _run_worker(w, size, repeats, threads, device) for w in widths}
    base = widths[0]
    for w, r in fwd.items():
        rows.append({"measurement": "forward_output_fps", "config": f"{w} widths, {out_size}{on}",
                     "value": 2 / r["seconds"], "unit": "output frames/s",
                     "ratio": fwd[base]["seconds"] / r["seconds"], "ratio_of": f"{base} widths",
                     "notes": f"{r['params']:,} parameters; fp32; 2 output frames per forward; median of {repeats}"})
        if device == "cuda":
            rows.append({"measurement": "forward_output_fps", "config": f"{w} widths, bf16 autocast, {out_size}{on}",
                         "value": 2 / r["seconds_bf16"], "unit": "output frames/s",
                         "ratio": r["seconds"] / r["seconds_bf16"], "ratio_of": f"{w} widths fp32",
                         "notes": f"bfloat16 autocast; median of {repeats}"})
            rows.append({"measurement": "forward_peak_gpu_mib", "config": f"{w} widths, {out_size}{on}",
                         "value": r["peak_gpu_mib"], "unit": "MiB",
                         "ratio": r["peak_gpu_mib"] / fwd[base]["peak_gpu_mib"], "ratio_of": f"{base} widths",
                         "notes": f"torch.cuda.max_memory_allocated of the fp32 forwards; {r['gpu_before_mib']:.0f} "
                                  f"MiB allocated before (weights, inputs)"})
        rows.append({"measurement": "forward_peak_rss_mib", "config": f"{w} widths, {out_size}{on}",
                     "value": r["peak_rss_mib"], "unit": "MiB",
                     "ratio": r["peak_rss_mib"] / fwd[base]["peak_rss_mib"], "ratio_of": f"{base} widths",
                     "notes": f"ru_maxrss of a fresh process; {r['rss_before_mib']:.0f} MiB resident before "
                              f"the first forward (interpreter, torch, model)"})

    # (b) flow backends (OpenCV, on the CPU) against one network forward at the first width
    lr = real_frames(2, size)
    net_s = fwd[base]["seconds"]
    for backend in BACKENDS:
        try:
            compute_flow(lr[0], lr[1], backend)
        except AttributeError as err:   # DeepFlow / TV-L1 need opencv-contrib (cv2.optflow)
            print(f"skipping flow backend {backend}: this OpenCV build lacks it ({err})", file=sys.stderr)
            continue
        s = _median_seconds(lambda: (compute_flow(lr[0], lr[1], backend), compute_flow(lr[1], lr[0], backend)),
                            repeats)
        rows.append({"measurement": "flow_pair_seconds", "config": f"{backend}, {size[1]}x{size[0]}",
                     "value": s, "unit": "s", "ratio": s / net_s,
                     "ratio_of": f"one network forward ({base} widths, {out_size}{on})",
                     "notes": "both flows of one pair (a->b, b->a) on the CPU; real TOFlow frames"})

    # (c) end-to-end clip against the reference path
    n_clip = clip_frames or (3 if quick else 5)
    if quick:
        model, name = STARnet(load_profile(base).model).eval(), f"untrained {base}-width STARnet"
    else:
        model, name = load_for_mode(DEMO_ST, ENHANCE_MODES["st"])[0], f"demo checkpoint {DEMO_ST.name}"
    rows += clip_rows(model, real_frames(n_clip, size), repeats, name + on, device)

    # (d) achieved GFLOP/s against the machine's matmul throughput
    n = matmul_n or (256 if quick else (8192 if device == "cuda" else 4096))
    mm = {"fp32": matmul_gflops(n, max(repeats, 5), device)}
    if device == "cuda":
        mm["tf32"] = matmul_gflops(n, max(repeats, 5), device, tf32=True)
        mm["bf16"] = matmul_gflops(n, max(repeats, 5), device, torch.bfloat16)
    for prec, v in mm.items():
        rows.append({"measurement": "matmul_gflop_per_s", "config": f"torch.mm {prec} {n}x{n}{on}", "value": v,
                     "unit": "GFLOP/s", "ratio": v / mm["fp32"], "ratio_of": f"torch.mm fp32 {n}x{n}",
                     "notes": f"best of {max(repeats, 5)}; " + (f"{threads} torch threads" if device == "cpu" else
                              {"fp32": "TF32 off", "tf32": "TensorFloat-32 tensor cores", "bf16": "bfloat16"}[prec])})
    # on CUDA, PyTorch runs fp32 convolutions through cuDNN in TF32 by default: compare with the TF32 matmul.
    # On a CPU the reference is torch.mm's best rate, not the hardware's peak: oneDNN's convolutions can beat it
    # (ratios above 1)
    conv_tf32 = device == "cuda" and torch.backends.cudnn.allow_tf32
    for w, r in fwd.items():
        for prec, key in (("fp32", "seconds"), ("bf16", "seconds_bf16")):
            if key not in r:
                continue
            achieved = r["flops"] / r[key] / 1e9
            label = "" if prec == "fp32" else ", bf16 autocast"
            ceiling = "tf32" if prec == "fp32" and conv_tf32 else prec
            note = " ; fp32 convolutions run in TF32 (cuDNN default)" if ceiling == "tf32" else ""
            rows.append({"measurement": "network_gflop_per_s", "config": f"{w} widths{label}, {out_size}{on}",
                         "value": achieved, "unit": "GFLOP/s", "ratio": achieved / mm[ceiling],
                         "ratio_of": f"torch.mm {ceiling} {n}x{n}",
                         "notes": f"{r['flops'] / 1e9:.1f} GFLOP per forward (FlopCounterMode; a multiply-add = 2)"
                                  + note})

    # (g) the published networks, their cascades and STAR per output frame
    rows += published_rows(widths, PUBLISHED_QUICK_LR_SIZE if quick else size, repeats, device, on, quick)

    # (f) the enhance command's peak memory on 1280x720 inputs
    e = enhance_peak(2 if quick else 3, (64, 96) if quick else None, device, threads)
    (h, w), (wo, ho) = e["size_in"], e["size_out"]
    rows.append({"measurement": "enhance_peak_rss_mib",
                 "config": f"st mode, {2 if quick else 3} frames {w}x{h} -> {e['frames_out']} frames {wo}x{ho}, "
                           f"tile {ENHANCE_TILE}, demo checkpoint{on}",
                 "value": e["peak_mib"], "unit": "MiB", "ratio": e["peak_mib"] / MEMORY_BOUND_MIB,
                 "ratio_of": f"the {MEMORY_BOUND_MIB // 1024} GiB bound",
                 "notes": "ru_maxrss of a fresh process running starlib.infer.enhance.enhance (read, tile, write PNGs); "
                          f"took {e['seconds']:.0f} s"})

    # (e) training steps, last: the CSV is rewritten after each one (``complete`` stays False until the last), so
    # a run cut short (a time limit on a lent GPU) keeps every measurement it finished; each profile's own step
    # first, then the alternatives, widest first on CUDA (the paper-width rows matter most there)
    def flush(complete: bool = False) -> None:
        prov = provenance(profile, 0, "synthetic inputs (a, d, e); data/train/toflow_clip frames (b, c, f, g)",
                          len(rows), time.perf_counter() - start, device=device)
        prov |= {"machine": _machine(device), "torch_threads": threads, "complete": complete}
        write_results_csv([{k: r[k] for k in COLUMNS} for r in rows], out, prov)

    flush()
    # the first training of a process pays one-time costs (allocator, oneDNN/cuDNN primitive caches): measured on
    # 2 cores, they made whichever configuration came first look up to 30% slower, so a throwaway one goes first;
    # on a CPU, steps are timed over at least 8 repeats (interleaved reruns agreed within a few % then)
    train_step_seconds(train_widths[0], 1, device, size)
    repeats = repeats if device == "cuda" or quick else max(repeats, 8)
    own: dict[str, dict[str, Any]] = {}
    for w in train_widths:
        own[w] = train_step_seconds(w, repeats, device, size)
        rows.extend(_train_rows(w, "", own[w], own[w], own[train_widths[0]], train_widths[0], mm, n, repeats,
                                device, on, threads))
        flush()
    for w in (reversed(train_widths) if device == "cuda" else train_widths):
        alternatives = (() if quick or not alternatives_on else TRAIN_ALTERNATIVES.get(w, ()) if device == "cuda"
                        else CPU_TRAIN_ALTERNATIVES if w == "cpu" else ())
        for alt in alternatives:
            try:
                r = train_step_seconds(w, repeats, device, size, **alt)
            except Exception as exc:   # a failed switch (an inductor error, out of memory) must not cost the rest
                print(f"training step at {w} widths with {alt} failed: {exc!r}", file=sys.stderr)
                rows.append({"measurement": "train_step_failed", "config": f"{w} widths, {json.dumps(alt)}{on}",
                             "value": float("nan"), "unit": "", "ratio": float("nan"), "ratio_of": "",
                             "notes": f"{type(exc).__name__}: {str(exc)[:300]}"})
                if device == "cuda":
                    torch.cuda.empty_cache()
            else:
                rows.extend(_train_rows(w, json.dumps(alt), r, own[w], own[train_widths[0]], train_widths[0], mm,
                                        n, repeats, device, on, threads))
            flush()
    flush(complete=True)
    return rows


def _train_rows(w: str, alt: str, r: dict[str, Any], own: dict[str, Any], first: dict[str, Any], first_width: str,
                mm: dict[str, float], n: int, repeats: int, device: str, on: str,
                threads: int) -> list[dict[str, Any]]:
    """The rows of one training-step measurement ``r`` at width ``w`` (``alt``: the JSON of its changes, "" for
    the profile's own settings, which compare with the first width's; alternatives with their profile's own)."""
    rows: list[dict[str, Any]] = []
    hours = r["seconds"] * r["schedule_steps"] / 3600
    mb = f" (micro-batches of {r['micro_batch']})" if r["micro_batch"] else ""
    bf = ", bf16 autocast" if r["bf16"] else ""
    extra = "".join([", channels-last" if r["channels_last"] else "",
                     f", torch.compile ({r['compile']})" if r["compile"] else "",
                     ", strict fp32 (TF32 off)" if r["strict_fp32"] else "",
                     f", Adamax {r['adamax']}" if r["adamax"] != "auto" else "",
                     f", {r['threads']} torch thread{'s' * (r['threads'] > 1)}" if alt and "threads" in alt else "",
                     ", real batches (training clips, cached flows)" if r["data"] == "real" else ""])
    cfg = (f"{w} widths, STAR objective{bf}{extra}, batch {r['batch_size']}{mb} of {r['size'][1]}x{r['size'][0]} "
           f"LR crops{on}")
    ref, ref_name = (first, f"{first_width} widths") if not alt else (own, f"{w} widths, the profile's settings")
    if device == "cuda":
        rows.append({"measurement": "train_peak_gpu_mib", "config": cfg, "value": r["peak_gpu_mib"], "unit": "MiB",
                     "ratio": r["peak_gpu_mib"] / ref["peak_gpu_mib"], "ratio_of": ref_name,
                     "notes": "torch.cuda.max_memory_allocated over the training steps (weights, Adamax state, "
                              "activations)"})
    rows.append({"measurement": "train_step_seconds",
                 "config": cfg,
                 "value": r["seconds"], "unit": "s", "ratio": r["seconds"] / ref["seconds"], "ratio_of": ref_name,
                 "notes": f"{'bf16 autocast' if r['bf16'] else 'fp32'} forward+losses+backward+Adamax on "
                          f"{r['data']} batches; median of {repeats}; per LR pixel of the batch "
                          f"{r['seconds'] / (r['batch_size'] * r['size'][0] * r['size'][1]) * 1e6:.2f} us; "
                          + (f"the {w} profile's schedule ({r['schedule_steps']:,} steps: STAR and four finetunes; "
                             f"the staged recipe's pretraining stages come on top) would take {_duration(hours)} at "
                             f"this speed" if not alt or not {"batch_size", "patch"} & set(json.loads(alt)) else
                             "a step of more pixels than the profile's: compare the time per LR pixel")})
    # the training step's arithmetic rate against the matmul ceiling of its precision (issue 13: >= 0.35 of
    # TF32 at paper widths); the ratio compares with the ceiling, not with the other rows
    prec = "bf16" if r["bf16"] else "fp32" if device == "cpu" or r["strict_fp32"] else "tf32"
    prec = prec if prec in mm else "fp32"
    achieved = r["flops"] / r["seconds"] / 1e9
    rows.append({"measurement": "train_gflop_per_s", "config": cfg, "value": achieved, "unit": "GFLOP/s",
                 "ratio": achieved / mm[prec], "ratio_of": f"torch.mm {prec} {n}x{n}",
                 "notes": f"{r['flops'] / 1e9:.1f} GFLOP per step (forward+backward, FlopCounterMode on the "
                          f"meta device; the Adamax update and data are not counted) / median step seconds"
                          + (f"; the ceiling was measured with {threads} torch threads, this step with {r['threads']}"
                             if device == "cpu" and r["threads"] != threads else "")})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu", help="profile name recorded with the results")
    p.add_argument("--out", default=None,
                   help="CSV to write (default results/benchmarks.csv, or results/benchmarks_cuda.csv on CUDA)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where the network runs")
    p.add_argument("--train-widths", nargs="*", default=None,
                   help="profiles whose training step is timed (default: the first width on a CPU, all on CUDA)")
    p.add_argument("--quick", action="store_true", help="smoke widths and tiny sizes (checks the script)")
    p.add_argument("--no-alternatives", action="store_true",
                   help="time each profile's own training step only (not the alternatives and speed switches)")
    p.add_argument("--widths", nargs="+", default=None, help="profiles whose widths are measured (default cpu paper; on CUDA cpu gpu paper)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per measurement (median)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's default)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        spec = json.loads(args.worker)
        print(json.dumps(forward_worker(spec["width"], tuple(spec["size"]), spec["repeats"], spec["threads"],
                                        spec.get("device", "cpu"))))
        return 0
    rows = run(args.profile, args.out, args.quick, tuple(args.widths) if args.widths else None, args.repeats,
               args.threads, device=args.device,
               train_widths=tuple(args.train_widths) if args.train_widths is not None else None,
               alternatives_on=not args.no_alternatives)
    for r in rows:
        ratio = "" if r["ratio"] != r["ratio"] else f"  ratio {r['ratio']:.3g} of {r['ratio_of']}"
        print(f"{r['measurement']:22s} {r['config'][:70]:70s} {r['value']:10.4g} {r['unit']}{ratio}")
    print("wrote", args.out or "results/benchmarks*.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
