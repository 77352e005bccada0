"""The published networks against their published numbers (issue 24, docs/published_models.md)
-> ``results/published_checks.csv``.

    python benchmarks/published_checks.py --vid4 ../shared/data/vid4          # BasicVSR, all of Vid4 (~1.5-2 h CPU)
    python benchmarks/published_checks.py --skip-basicvsr                    # RIFE: UCF101 (285) + Middlebury (12)
    python benchmarks/published_checks.py --max-frames 3 --ucf-items 2 --middlebury-items 1 --out /tmp/c.csv

* **BasicVSR** (Vimeo90K BI x4) on Vid4 BI x4: LR frames by MATLAB-style bicubic (``imresize_matlab``) from the
  ground truth, each clip super-resolved whole (every frame sees the clip, as its authors test), Y-PSNR on the
  unrounded BT.601 luma, no border crop (BasicSR ``calculate_psnr(crop_border=0, test_y_channel=True)``),
  averaged over a clip's frames, then over the clips. Published: 27.24 dB (BasicVSR paper Table 2 / BasicSR);
  tolerance 0.05 dB (their two decimals plus the bicubic implementation's rounding). ``--max-frames`` keeps
  the first frames of each clip: a smoke check, never compared with the published number.
* **RIFE v4.0** on UCF101 (the DVF triplets; 285 of the 379 are in the data mirror) and Middlebury-other (12):
  PSNR on uint8 RGB (RIFE's ``benchmark/UCF101.py`` rounds the prediction to 1/255 too), and the interpolation
  error of the VFI papers (mean |round(255 pred) - gt| over pixels and channels, RIFE's
  ``benchmark/MiddleBury_Other.py``); frames zero-padded at the right/bottom to multiples of 32. No number is
  published for v4.0 on these sets (its authors: the practical models are "not reported by our paper"); the
  rows carry the ECCV paper's RIFE numbers (UCF101 35.282 dB on all 379, Middlebury IE 1.956) as the nearest
  published reference, not as a target.

Each row: check, dataset, items, measured, published, tolerance, verdict, note, and the provenance columns.
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

from starlib.data import load_window, middlebury_other, ucf101_dvf           # noqa: E402
from starlib.data.degrade import downscale, modcrop                          # noqa: E402
from starlib.data.images import read_rgb                                     # noqa: E402
from starlib.data.septuplets import vid4_clips                               # noqa: E402
from starlib.evaluation.published import RIFEInterpolator, super_resolve_clip  # noqa: E402
from starlib.metrics import psnr                                             # noqa: E402
from starlib.metrics.interpolation_error import ie_mae                       # noqa: E402
from starlib.metrics.y_float import psnr_y_float                             # noqa: E402
from starlib.published.basicvsr import load_basicvsr                         # noqa: E402
from starlib.util.provenance import provenance, write_results_csv            # noqa: E402

#: (published value, tolerance) of each check; None: nothing published for this model on that set.
BASICVSR_VID4_Y_PSNR = (27.24, 0.05)
RIFE_PAPER_UCF101_PSNR = 35.282     # the ECCV paper's RIFE, all 379 triplets: a reference, not v4.0's number
RIFE_PAPER_MIDDLEBURY_IE = 1.956
DEFAULT_OUT = REPO / "results" / "published_checks.csv"


def basicvsr_vid4(root: Path, max_frames: int = 0, clips: tuple[str, ...] | None = None) -> dict:
    """Y-PSNR of BasicVSR on Vid4 BI x4: mean over clips of each clip's mean over frames."""
    net = load_basicvsr()
    per_clip, n_frames = {}, 0
    for clip in vid4_clips(root, names=clips):
        paths = clip.frames[:max_frames] if max_frames else clip.frames
        gt = [modcrop(read_rgb(p), 4) for p in paths]
        sr = super_resolve_clip([downscale(g, 4, "matlab") for g in gt], net)
        per_clip[clip.name] = float(np.mean([psnr_y_float(g, s) for g, s in zip(gt, sr)]))
        n_frames += len(gt)
        print(f"  {clip.name}: {per_clip[clip.name]:.3f} dB ({len(gt)} frames)", flush=True)
    measured = float(np.mean(list(per_clip.values())))
    published, tol = BASICVSR_VID4_Y_PSNR
    complete = not max_frames and clips is None
    verdict = ("reproduced" if abs(measured - published) <= tol else "differs") if complete else \
        "subset: not compared"
    return {"check": "BasicVSR Vid4 BI x4 Y-PSNR (dB)", "dataset": "Vid4", "items": n_frames,
            "measured": round(measured, 3), "published": published, "tolerance": tol, "verdict": verdict,
            "note": "per clip: " + ", ".join(f"{k} {v:.2f}" for k, v in per_clip.items())}


def rife_rows(ucf_items: int, middlebury_items: int) -> list[dict]:
    rife = RIFEInterpolator()
    rows = []
    sets = (("UCF101", ucf101_dvf(), ucf_items, psnr, "PSNR RGB (dB)", RIFE_PAPER_UCF101_PSNR,
             "285 of the 379 DVF triplets exist in the mirror; the published 35.282 is the ECCV paper's RIFE on "
             "all 379, not v4.0"),
            ("Middlebury-other", middlebury_other(), middlebury_items, ie_mae, "IE", RIFE_PAPER_MIDDLEBURY_IE,
             "the published 1.956 is the ECCV paper's RIFE, not v4.0"))
    for name, windows, limit, metric, what, reference, note in sets:
        windows = windows[:limit] if limit else windows
        values = []
        for w in windows:
            stack = load_window(w, 1)
            values.append(metric(stack.hr[1], rife(stack.hr[0], stack.hr[-1])))
        rows.append({"check": f"RIFE v4.0 {name} {what}", "dataset": name, "items": len(values),
                     "measured": round(float(np.mean(values)), 3), "published": reference, "tolerance": None,
                     "verdict": "no published number for v4.0", "note": note})
        print(f"  {rows[-1]['check']}: {rows[-1]['measured']} on {len(values)} items", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vid4", default=str(REPO / "data" / "vid4"), help="Vid4 folder (GT/<clip>/*.png)")
    p.add_argument("--max-frames", type=int, default=0, help="first frames of each Vid4 clip only (0 = all)")
    p.add_argument("--clips", nargs="*", default=None, help="Vid4 clips to score (default: all four)")
    p.add_argument("--ucf-items", type=int, default=0, help="UCF101 triplets (0 = all in the data folder)")
    p.add_argument("--middlebury-items", type=int, default=0, help="Middlebury sequences (0 = all 12)")
    p.add_argument("--skip-basicvsr", action="store_true")
    p.add_argument("--skip-rife", action="store_true")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    start, rows = time.time(), []
    if not args.skip_basicvsr:
        rows.append(basicvsr_vid4(Path(args.vid4), args.max_frames, tuple(args.clips) if args.clips else None))
    if not args.skip_rife:
        rows += rife_rows(args.ucf_items, args.middlebury_items)
    data = ", ".join(sorted({r["dataset"] for r in rows}))
    write_results_csv(rows, args.out, provenance("published", 0, data, sum(r["items"] for r in rows),
                                                 time.time() - start))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
