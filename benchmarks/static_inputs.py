"""A learned model's noise floor on a static scene: every LR-input objective of a profile fed the same frame
twice, scored against that frame (issue 12) -> ``results/<profile>/static_inputs.csv``.

    python benchmarks/static_inputs.py --profile cpu [--runs-dir /path/to/runs] [--items 40]

With identical inputs the true in-between frame is the input itself: frame averaging (and the warped base of
``mid_base="warp"``, whose flows are then zero) is exact, so the PSNR of the model's ``lr_mid`` against the
input measures only the correction the network adds where nothing moves. A finite PSNR here bounds what the
model can score on near-static test items (UCF101 has many), whatever it gains on moving ones. The S-SR and
ST-SR outputs are scored against the HR frame too (bicubic upscaling is their baseline). Only finished runs
are used: nothing is trained.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from starlib.data import load_window, ucf101_dvf                       # noqa: E402
from starlib.data.samples import FrameStack                            # noqa: E402
from starlib.evaluation.baselines import bicubic_upscale               # noqa: E402
from starlib.infer.runner import STARMethod                            # noqa: E402
from starlib.metrics import psnr                                       # noqa: E402
from starlib.models import load_checkpoint                             # noqa: E402
from starlib.study.trainings.plans import run_name                              # noqa: E402
from starlib.study.trainings.recipes import Training                            # noqa: E402
from starlib.study.setup.workspace import Workspace                          # noqa: E402
from starlib.util.provenance import write_results_csv                  # noqa: E402

OBJECTIVES = ("STAR", "STAR-ST", "STAR-T_LR")


def run(profile: str, runs_dir: str | None, items: int, cache_dir: str | None = None) -> list[dict]:
    ws = Workspace.create(profile, runs_dir=runs_dir, cache_dir=cache_dir, progress=False)
    windows = ucf101_dvf()[:items]
    stacks = [load_window(w, ws.profile.scale) for w in windows]
    bicubic = np.asarray([psnr(s.hr[0], bicubic_upscale(s.lr[0], ws.profile.scale)) for s in stacks])
    rows = [{"method": "Bicubic", "run": "", "output": "sr_t", "input": "the first frame of each window",
             "psnr_mean": float(bicubic.mean()), "psnr_min": float(bicubic.min()), "psnr_max": float(bicubic.max()),
             "baseline": ""}]
    for objective in OBJECTIVES:
        name = run_name(ws, Training(objective))
        path = ws.runs / name / "model.pt"
        if not path.is_file():
            print(f"{objective}: run {name} is not finished in {ws.runs}; skipped")
            continue
        model, _ = load_checkpoint(path)
        method = STARMethod(model, ws.flows, tile=ws.profile.eval.tile("lr"), device=ws.device)
        scores: dict[str, list[float]] = {"lr_mid": [], "sr_mid": [], "sr_t": []}
        for stack in stacks:
            lr, hr = stack.lr[0], stack.hr[0]
            out = method(FrameStack(stack.name, [hr, hr, hr], [lr, lr, lr]))
            scores["lr_mid"].append(psnr(lr, out["lr_mid"]))
            scores["sr_mid"].append(psnr(hr, out["sr_mid"]))
            scores["sr_t"].append(psnr(hr, out["sr_t"]))
        for output, values in scores.items():
            v = np.asarray(values)
            rows.append({"method": objective, "run": name, "output": output,
                         "input": "the first frame of each window, twice",
                         "psnr_mean": float(v.mean()), "psnr_min": float(v.min()), "psnr_max": float(v.max()),
                         "baseline": "frame averaging: exact (infinite PSNR)" if output == "lr_mid" else
                                     "bicubic upscaling of the frame"})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--runs-dir", default=None, help="parent of the per-profile runs folder (default: runs/)")
    p.add_argument("--items", type=int, default=40, help="UCF101 windows whose first frame is used")
    p.add_argument("--out", default=None, help="CSV path (default: results/<profile>/static_inputs.csv)")
    args = p.parse_args(argv)
    start = time.perf_counter()
    runs_dir = Path(args.runs_dir).resolve() if args.runs_dir else None
    rows = run(args.profile, runs_dir, args.items)
    ws = Workspace.create(args.profile, progress=False)
    prov = ws.provenance(f"ucf101: first frame of the first {args.items} windows, as both inputs", args.items,
                         time.perf_counter() - start)
    out = Path(args.out) if args.out else ws.results_file("static_inputs.csv")
    write_results_csv(rows, out, prov)
    for r in rows:
        print(f"{r['method']:10s} {r['output']:7s} {r['psnr_mean']:6.2f} dB (min {r['psnr_min']:.2f})")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
