"""Speed and memory of STARnet and of the enhance pipeline, measured in one run -> ``results/benchmarks.csv``.

    python benchmarks/bench.py --profile cpu            # cpu and paper widths (minutes to an hour on a CPU)
    python benchmarks/bench.py --quick --out /tmp/b.csv # smoke widths, tiny sizes: checks that the script works

One row per measurement, columns ``measurement, config, value, unit, ratio, ratio_of, notes`` and the
provenance columns (profile, git commit, machine, torch threads, wall time ...). Measurements:

(a) ``forward_output_fps``, ``forward_peak_rss_mib``: STARnet forward only (``torch.inference_mode``, fp32) at
    each width for 448x256 output frames (LR 112x64), 2 output frames (``sr_t``, ``sr_mid``) per forward; each
    width runs in a fresh process, whose ``ru_maxrss`` is the peak memory (interpreter and torch included; the
    notes give the resident size before the first forward). Untrained weights: speed does not depend on them.
(b) ``flow_pair_seconds``: each OpenCV flow backend, both flows of one LR pair (a->b and b->a, what one forward
    needs) on real frames at 112x64; ratio = that time / one network forward at ``cpu`` widths.
(c) ``clip_output_fps``: enhancing a short real clip (``st`` mode, the demo checkpoint) through
    ``starlib.enhance.enhance_frames`` against a straightforward reference path (fp32, default memory layout,
    ``torch.no_grad``, flows computed inline, no flow cache, no tiling); ratio = speed-up over the reference.
    ``clip_max_abs_diff``: the largest difference between each path's uint8 frames and the reference's.
(d) ``network_gflop_per_s``: FLOPs of one forward (``torch.utils.flop_counter.FlopCounterMode``) / its time;
    ratio = that / the fp32 matrix-multiply throughput of this machine measured in the same run (``torch.mm``).

Importable: ``run(...)`` returns the rows; ``main(argv)`` is the command line.
"""

from __future__ import annotations

import argparse
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

from starlib.data.degrade import make_lr, to_tensor, to_uint8
from starlib.data.images import read_rgb
from starlib.data.sources import data_root
from starlib.enhance import DEMO_ST, Settings, enhance_frames, load_for_mode
from starlib.flow import BACKENDS, DEFAULT_BACKEND, compute_flow, normalize_flow
from starlib.models import STARnet
from starlib.profile import load_profile
from starlib.provenance import REPO_ROOT, provenance, write_results_csv

COLUMNS = ("measurement", "config", "value", "unit", "ratio", "ratio_of", "notes")
LR_SIZE = (64, 112)            # (h, w): 448x256 output frames
QUICK_LR_SIZE = (24, 32)


# --- helpers -------------------------------------------------------------------------------------------

def _median_seconds(fn, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _rss_mib() -> float:
    """Current resident set size of this process (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024   # bytes on macOS, KiB on Linux


def _machine() -> str:
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
    root = data_root() / "train" / "toflow_clip" / "frames"
    out = []
    for i in range(1, n + 1):
        hr = np.asarray(Image.fromarray(read_rgb(root / f"{i:02d}.png")).resize((4 * w, 4 * h), Image.BICUBIC))
        out.append(make_lr(hr, 4)[1])
    return out


def _flow_tensors(a: np.ndarray, b: np.ndarray, backend: str = DEFAULT_BACKEND) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised flows a->b, b->a as (1, 2, h, w) tensors, computed inline (no cache)."""
    return tuple(torch.from_numpy(normalize_flow(compute_flow(x, y, backend))).permute(2, 0, 1)[None]
                 for x, y in ((a, b), (b, a)))


# --- (a) + (d): one width, in a fresh process ------------------------------------------------------------

def count_flops(model: STARnet, size: tuple[int, int]) -> int:
    """FLOPs of one forward at LR ``size`` (h, w), counted on the meta device (nothing is computed)."""
    from torch.utils.flop_counter import FlopCounterMode

    meta = STARnet(model.cfg).to("meta").eval()
    x = torch.empty(1, 3, *size, device="meta")
    f = torch.empty(1, 2, *size, device="meta")
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        meta(x, x, f, f)
    return int(counter.get_total_flops())


def forward_worker(width: str, size: tuple[int, int], repeats: int, threads: int) -> dict[str, Any]:
    """Time STARnet forwards at ``width`` widths; run in a fresh process so ru_maxrss is this width's peak."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = STARnet(load_profile(width).model).eval()
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1, 3, *size, generator=g), torch.randn(1, 3, *size, generator=g)   # (1, 3, h, w)
    ff, fb = 0.02 * torch.randn(1, 2, *size, generator=g), 0.02 * torch.randn(1, 2, *size, generator=g)
    rss_before = _rss_mib()

    def forward() -> None:
        with torch.inference_mode():
            model(a, b, ff, fb)

    seconds = _median_seconds(forward, repeats)
    params = sum(p.numel() for p in model.parameters())
    return {"seconds": seconds, "peak_rss_mib": _peak_rss_mib(), "rss_before_mib": rss_before,
            "flops": count_flops(model, size), "params": params, "threads": torch.get_num_threads()}


def _run_worker(width: str, size: tuple[int, int], repeats: int, threads: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(
        {"width": width, "size": list(size), "repeats": repeats, "threads": threads})]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    if res.returncode != 0:
        raise RuntimeError(f"benchmark worker for {width} widths failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# --- (d): the machine's matmul throughput ----------------------------------------------------------------

def matmul_gflops(n: int, repeats: int) -> float:
    """fp32 ``torch.mm`` of two n x n matrices: 2 n^3 FLOPs / median seconds."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    seconds = _median_seconds(lambda: torch.mm(x, y), repeats)
    return 2 * n**3 / seconds / 1e9


# --- (c): the end-to-end clip against a reference path ---------------------------------------------------

def reference_enhance(frames: list[np.ndarray], model: STARnet) -> list[np.ndarray]:
    """The straightforward path: whole frames, fp32, default layout, no_grad, flows computed inline, no cache.
    Same outputs as ``st`` mode: sr_t, sr_mid of each pair, sr_t1 of the last pair."""
    model.eval()
    outs: list[np.ndarray] = []
    with torch.no_grad():
        for i in range(len(frames) - 1):
            a, b = frames[i], frames[i + 1]
            out = model(to_tensor(a)[None], to_tensor(b)[None], *_flow_tensors(a, b))
            outs += [to_uint8(out["sr_t"][0]), to_uint8(out["sr_mid"][0])]
            if i == len(frames) - 2:
                outs.append(to_uint8(out["sr_t1"][0]))
    return outs


PIPELINE_VARIANTS: dict[str, Settings] = {
    "pipeline (default settings)": Settings(),
    "pipeline + channels_last": Settings(channels_last=True),
    "pipeline + bf16 autocast": Settings(bf16=True),
}


def clip_rows(model: STARnet, frames: list[np.ndarray], repeats: int, model_name: str) -> list[dict[str, Any]]:
    n_out = 2 * len(frames) - 1
    cfg = f"st mode, {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]} -> {n_out} frames, {model_name}"
    ref_out: list[np.ndarray] = []

    def ref() -> None:
        ref_out[:] = reference_enhance(frames, model)

    ref_s = _median_seconds(ref, repeats)
    rows = [{"measurement": "clip_output_fps", "config": f"reference path; {cfg}", "value": n_out / ref_s,
             "unit": "output frames/s", "ratio": 1.0, "ratio_of": "reference path",
             "notes": "fp32, default layout, no_grad, whole frames, flows inline, no cache"}]
    for name, settings in PIPELINE_VARIANTS.items():
        out: list[np.ndarray] = []

        def pipe() -> None:
            out[:] = list(enhance_frames(iter(frames), model, "st", settings=settings, device="cpu"))

        s = _median_seconds(pipe, repeats)
        diff = max(int(np.abs(o.astype(int) - r.astype(int)).max()) for o, r in zip(out, ref_out))
        rows.append({"measurement": "clip_output_fps", "config": f"{name}; {cfg}", "value": n_out / s,
                     "unit": "output frames/s", "ratio": ref_s / s, "ratio_of": "reference path",
                     "notes": f"inference_mode, flows of the next pair on a worker thread, tile {settings.tile} px"})
        rows.append({"measurement": "clip_max_abs_diff", "config": f"{name}; {cfg}", "value": diff,
                     "unit": "uint8 levels", "ratio": float("nan"), "ratio_of": "",
                     "notes": "largest |pipeline - reference| over all output pixels"})
    return rows


# --- the whole run ---------------------------------------------------------------------------------------

def run(profile: str = "cpu", out: str | Path = REPO_ROOT / "results" / "benchmarks.csv", quick: bool = False,
        widths: tuple[str, ...] | None = None, repeats: int | None = None, threads: int | None = None,
        clip_frames: int | None = None, matmul_n: int | None = None) -> list[dict[str, Any]]:
    """Measure (a)-(d) and write ``out`` atomically; returns the rows (without provenance)."""
    start = time.perf_counter()
    threads = threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    widths = widths or (("smoke",) if quick else ("cpu", "paper"))
    size = QUICK_LR_SIZE if quick else LR_SIZE
    repeats = repeats or (1 if quick else 3)
    out_size = f"LR {size[1]}x{size[0]} -> {4 * size[1]}x{4 * size[0]}"
    rows: list[dict[str, Any]] = []

    # (a) forward speed and memory, one fresh process per width
    fwd = {w: _run_worker(w, size, repeats, threads) for w in widths}
    base = widths[0]
    for w, r in fwd.items():
        rows.append({"measurement": "forward_output_fps", "config": f"{w} widths, {out_size}",
                     "value": 2 / r["seconds"], "unit": "output frames/s",
                     "ratio": fwd[base]["seconds"] / r["seconds"], "ratio_of": f"{base} widths",
                     "notes": f"{r['params']:,} parameters; 2 output frames per forward; median of {repeats}"})
        rows.append({"measurement": "forward_peak_rss_mib", "config": f"{w} widths, {out_size}",
                     "value": r["peak_rss_mib"], "unit": "MiB",
                     "ratio": r["peak_rss_mib"] / fwd[base]["peak_rss_mib"], "ratio_of": f"{base} widths",
                     "notes": f"ru_maxrss of a fresh process; {r['rss_before_mib']:.0f} MiB resident before "
                              f"the first forward (interpreter, torch, model)"})

    # (b) flow backends against one network forward at the first width (cpu, or smoke when quick)
    lr = real_frames(2, size)
    net_s = fwd[base]["seconds"]
    for backend in BACKENDS:
        s = _median_seconds(lambda: (compute_flow(lr[0], lr[1], backend), compute_flow(lr[1], lr[0], backend)),
                            repeats)
        rows.append({"measurement": "flow_pair_seconds", "config": f"{backend}, {size[1]}x{size[0]}",
                     "value": s, "unit": "s", "ratio": s / net_s,
                     "ratio_of": f"one network forward ({base} widths, {out_size})",
                     "notes": "both flows of one pair (a->b, b->a); real TOFlow frames"})

    # (c) end-to-end clip against the reference path
    n_clip = clip_frames or (3 if quick else 5)
    if quick:
        model, name = STARnet(load_profile(base).model).eval(), f"untrained {base}-width STARnet"
    else:
        model, name = load_for_mode(DEMO_ST, "st")[0], f"demo checkpoint {DEMO_ST.name}"
    rows += clip_rows(model, real_frames(n_clip, size), repeats, name)

    # (d) achieved GFLOP/s against the machine's matmul throughput
    n = matmul_n or (256 if quick else 2048)
    mm = matmul_gflops(n, max(repeats, 3))
    rows.append({"measurement": "matmul_gflop_per_s", "config": f"torch.mm fp32 {n}x{n}", "value": mm,
                 "unit": "GFLOP/s", "ratio": 1.0, "ratio_of": "itself", "notes": f"{threads} torch threads"})
    for w, r in fwd.items():
        achieved = r["flops"] / r["seconds"] / 1e9
        rows.append({"measurement": "network_gflop_per_s", "config": f"{w} widths, {out_size}", "value": achieved,
                     "unit": "GFLOP/s", "ratio": achieved / mm, "ratio_of": f"torch.mm fp32 {n}x{n}",
                     "notes": f"{r['flops'] / 1e9:.1f} GFLOP per forward (FlopCounterMode; a multiply-add = 2)"})

    wall = time.perf_counter() - start
    prov = provenance(profile, 0, "synthetic inputs (a, d); data/train/toflow_clip frames (b, c)", len(rows), wall)
    prov |= {"machine": _machine(), "torch_threads": threads}
    write_results_csv([{k: r[k] for k in COLUMNS} for r in rows], out, prov)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu", help="profile name recorded with the results")
    p.add_argument("--out", default=str(REPO_ROOT / "results" / "benchmarks.csv"))
    p.add_argument("--quick", action="store_true", help="smoke widths and tiny sizes (checks the script)")
    p.add_argument("--widths", nargs="+", default=None, help="profiles whose widths are measured (default cpu paper)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per measurement (median)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's default)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        spec = json.loads(args.worker)
        print(json.dumps(forward_worker(spec["width"], tuple(spec["size"]), spec["repeats"], spec["threads"])))
        return 0
    rows = run(args.profile, args.out, args.quick, tuple(args.widths) if args.widths else None, args.repeats,
               args.threads)
    for r in rows:
        ratio = "" if r["ratio"] != r["ratio"] else f"  ratio {r['ratio']:.3g} of {r['ratio_of']}"
        print(f"{r['measurement']:22s} {r['config'][:70]:70s} {r['value']:10.4g} {r['unit']}{ratio}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
