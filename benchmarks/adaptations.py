"""The small-budget adaptations of a profile, each switched off alone, measured on the validation split after
stage (a) (issue 12, item 3) -> ``results/<profile>/adaptations.csv``.

    python benchmarks/adaptations.py --profile cpu        # about 25 minutes on 2 cores (runs are reused)

Each network adaptation (``global_residual``, ``resblock_init_scale``, ``mid_base``) is judged on stage (c), the
network without FR trained from the pretrained Net_S of stage (a) for ``[stages] core_steps`` steps: PSNR of
every output on the validation windows (never a test set) at the last step, next to bicubic + frame averaging
on the same frames. The FR adaptations (``fr_correction``, ``fr_identity_init``) are judged on stage (b), the U-Net
trained alone: its flow loss against the FR targets at the end, next to that of the unrefined flows. Larger
crops (item 3: they carry more motion) are judged on stage (c) too, trained for the same number of LR pixels as
the profile's crops (:func:`crop_variant`). Rows carry provenance; the runs live in the profile's runs folder,
so the profile's own stages are shared with the study.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from starlib.study.trainings import recipes as R                      # noqa: E402
from starlib.study.trainings import training_runs as TR                # noqa: E402
from starlib.study.setup.workspace import Workspace               # noqa: E402
from starlib.util.provenance import write_results_csv       # noqa: E402

#: label -> the STARConfig change that switches one adaptation off (the profile's own network first).
CORE_VARIANTS: dict[str, dict[str, Any]] = {
    "profile (all on)": {},
    "mid_base = average": {"mid_base": "average"},
    "resblock_init_scale = 1": {"resblock_init_scale": 1.0},
    "global_residual off": {"global_residual": False, "mid_base": "average"},
}
#: Crops larger by this factor (in LR px per side) carry more motion; stage (c) with them is trained for the same
#: number of LR pixels (fewer steps), so the comparison is at an equal budget (issue 12, item 3).
CROP_FACTOR = 4 / 3


def crop_variant(patch: int, steps: int) -> tuple[int, int]:
    """``(larger patch, steps)``: crops ``CROP_FACTOR`` larger per side (a multiple of 4 px), trained for the
    same LR pixels as ``steps`` steps at ``patch``."""
    larger = 4 * max(patch // 4 + 1, round(patch * CROP_FACTOR / 4))
    return larger, max(1, round(steps * (patch / larger) ** 2))


FR_VARIANTS: dict[str, dict[str, Any]] = {
    "profile (all on)": {},
    "fr_identity_init off": {"fr_identity_init": False},
    "sigmoid (authors')": {"fr_identity_init": False, "fr_correction": "sigmoid"},
}


def _last_val(run) -> dict[str, tuple[float, float]]:
    last = max(int(r["step"]) for r in run.val)
    return {r["output"]: (float(r["psnr"]), float(r["baseline_psnr"])) for r in run.val if int(r["step"]) == last}


def _core_rows(label: str, result) -> list[dict]:
    """Rows of a stage-(c) run: each output's validation PSNR at the last step next to its floor."""
    return [{"stage": "(c) network without FR", "variant": label, "output": output, "metric": "psnr",
             "value": psnr, "baseline": base, "gain_vs_baseline": psnr - base,
             "baseline_method": "bicubic + frame averaging", "run": result.run_dir.name,
             "train_wall_time_s": round(result.wall_time_s, 1)} for output, (psnr, base) in _last_val(result).items()]


def run(profile: str = "cpu", runs_dir: str | None = None, cache_dir: str | None = None) -> list[dict]:
    ws = Workspace.create(profile, runs_dir=runs_dir, cache_dir=cache_dir, progress=True)
    prof = ws.profile
    rows = []
    for label, change in CORE_VARIANTS.items():
        variant = {**change, "flow_refine": False}
        if all(getattr(prof.model, k) == v for k, v in change.items()) and change:
            continue                                      # the profile has this one off already
        what = R.Training("STAR", variant, {"steps": prof.stages.core_steps} if prof.stages.core_steps else {},
                          stage="core")
        rows += _core_rows(label, TR.train_run(ws, what))
    core_steps = prof.stages.core_steps or R.train_config(prof, "STAR").steps
    patch = R.train_config(prof, "STAR").patch
    if patch:
        larger, steps = crop_variant(patch, core_steps)
        what = R.Training("STAR", {"flow_refine": False}, {"steps": steps, "patch": larger}, stage="core")
        rows += _core_rows(f"{larger}-px crops, {steps} steps (same LR pixels as {patch} px x {core_steps})",
                           TR.train_run(ws, what))
    for label, change in FR_VARIANTS.items():
        cfg = R.model_config(prof, change)
        if change and cfg == R.model_config(prof):
            continue
        result = TR.train_run(ws, R.fr_stage(prof, cfg))
        tail = result.log[-5:]                            # the last logged steps, averaged (single batches are noisy)
        refined = sum(float(r["flow"]) for r in tail) / len(tail)
        unrefined = sum(float(r["flow_unrefined"]) for r in tail) / len(tail)
        rows.append({"stage": "(b) FR U-Net alone", "variant": label, "output": "flows", "metric": "flow_mse",
                     "value": refined, "baseline": unrefined, "gain_vs_baseline": unrefined - refined,
                     "baseline_method": "unrefined flows", "run": result.run_dir.name,
                     "train_wall_time_s": round(result.wall_time_s, 1)})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--runs-dir", default=None)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--out", default=None, help="CSV path (default: results/<profile>/adaptations.csv)")
    args = p.parse_args(argv)
    start = time.perf_counter()
    rows = run(args.profile, args.runs_dir, args.cache_dir)
    ws = Workspace.create(args.profile, progress=False)
    windows = ws.profile.validation.windows
    prov = ws.provenance(f"validation: the last {windows} DAVIS triplets (held out of training)", windows,
                         time.perf_counter() - start)
    out = Path(args.out) if args.out else ws.results_file("adaptations.csv")
    write_results_csv(rows, out, prov)
    for r in rows:
        print(f"{r['stage']:24s} {r['variant']:26s} {r['output']:7s} {r['gain_vs_baseline']:+.4g}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
