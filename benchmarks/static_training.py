"""Does training on static items remove the learned correction's noise floor? (issue 12: the UCF101 LR middle
frame) -> ``results/<profile>/static_training.csv``.

    python benchmarks/static_training.py --profile cpu [--runs-dir D] [--cache-dir D] [--static 0.1 0.25]

STAR-T_LR is finetuned from the profile's STAR run as the study trains it, and once per fraction ``--static``
of its training items made static (``TrainConfig.static_items``: the first frame repeated, zero
flows). Both are scored on the LR middle frame of every test set next to frame averaging, overall and binned by
the floor's own PSNR on the item (``stats.gain_by_reference_level``: near-static items are where a correction
with a noise floor loses), and on the static-input test of ``benchmarks/static_inputs.py`` (the first frame of
40 UCF101 windows fed twice, where averaging is exact). The study's own run is reused; only the variants train
(about 2 minutes each at ``cpu``).
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
from starlib.evaluation.stats import gain_by_reference_level, paired_difference  # noqa: E402
from starlib.metrics import psnr                                       # noqa: E402
from starlib.study.tables.entries import trained_entry                        # noqa: E402
from starlib.study.tables.floors import floor_entry                           # noqa: E402
from starlib.study.trainings.recipes import Training, test_benchmarks            # noqa: E402
from starlib.study.setup.workspace import Workspace                          # noqa: E402
from starlib.util.provenance import write_results_csv                  # noqa: E402

OBJECTIVE = "STAR-T_LR"
OUTPUT = "lr_mid"


def static_input_psnr(method, stacks) -> float:
    """Mean PSNR of ``lr_mid`` against the input when one frame is fed twice (averaging: exact)."""
    return float(np.mean([psnr(s.lr[0], method(FrameStack(s.name, [s.hr[0]] * 3, [s.lr[0]] * 3))[OUTPUT])
                          for s in stacks]))


def run(profile: str = "cpu", static: tuple[float, ...] = (0.1, 0.25), runs_dir: str | None = None,
        cache_dir: str | None = None, static_items: int = 40) -> list[dict]:
    ws = Workspace.create(profile, runs_dir=runs_dir, cache_dir=cache_dir, progress=True)
    bench = test_benchmarks(ws.profile)
    floor = floor_entry(ws, bench, (OUTPUT,), niqe=False, note="")
    stacks = [load_window(w, ws.profile.scale) for w in ucf101_dvf()[:static_items]]
    rows = []
    variants = [(f"{OBJECTIVE} (the study's run)", {})]
    variants += [(f"{OBJECTIVE}, {p:.0%} static items", {"static_items": p}) for p in static]
    for label, overrides in variants:
        entry = trained_entry(ws, label, Training(OBJECTIVE, overrides=overrides), bench, (OUTPUT,))
        common = {"method": label, "static_items": overrides.get("static_items", 0.0), "run": entry.info["run"],
                  "output": OUTPUT, "reference": "frame averaging",
                  "train_wall_time_s": entry.info["train_wall_time_s"]}
        for dataset in bench:
            a = entry.per_item[entry.per_item.dataset == dataset]
            b = floor.per_item[floor.per_item.dataset == dataset]
            gain, low, high, n = paired_difference(a, b, "psnr")
            rows.append({**common, "dataset": dataset, "items": "all", "n": n, "psnr": float(a["psnr"].mean()),
                         "reference_psnr": float(b["psnr"].mean()), "gain": gain, "gain_ci95_low": low,
                         "gain_ci95_high": high})
        for r in gain_by_reference_level(entry.per_item, floor.per_item).itertuples():
            rows.append({**common, "dataset": r.dataset, "items": f"floor {r.level} dB", "n": r.n,
                         "psnr": r.method_mean, "reference_psnr": r.reference_mean, "gain": r.gain,
                         "gain_ci95_low": r.gain_ci95_low, "gain_ci95_high": r.gain_ci95_high})
        rows.append({**common, "dataset": "ucf101", "items": f"static input: first frame of {len(stacks)} windows "
                     f"fed twice", "n": len(stacks), "psnr": static_input_psnr(entry.method, stacks),
                     "reference_psnr": float("inf"), "gain": float("nan"), "gain_ci95_low": float("nan"),
                     "gain_ci95_high": float("nan")})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--static", type=float, nargs="+", default=[0.1, 0.25],
                   help="fractions of static training items, each in (0, 1]")
    p.add_argument("--runs-dir", default=None, help="parent of the per-profile runs folder (default: runs/)")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--out", default=None, help="CSV path (default: results/<profile>/static_training.csv)")
    args = p.parse_args(argv)
    if not all(0 < f <= 1 for f in args.static):
        p.error(f"--static fractions must be in (0, 1], got {args.static}")
    start = time.perf_counter()
    rows = run(args.profile, tuple(args.static), args.runs_dir, args.cache_dir)
    ws = Workspace.create(args.profile, progress=False)
    prov = ws.provenance("test sets of the profile (LR middle frame); static inputs: 40 UCF101 frames",
                         len(rows), time.perf_counter() - start)
    out = Path(args.out) if args.out else ws.results_file("static_training.csv")
    write_results_csv(rows, out, prov)
    for r in rows:
        print(f"{r['method']:36s} {r['dataset']:10s} {r['items']:44s} {r['psnr']:7.2f} {r['gain']:+.3f}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
