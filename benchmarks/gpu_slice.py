"""A short slice of the ``gpu`` profile through the study's own path (issue 13, item 6): stage (a) of its chain,
Net_S alone, for a few hundred steps on the device, then scored on the first items of the test sets next to
bicubic -> ``results/gpu_check/gpu_slice.csv`` (rows with provenance naming the GPU).

    python benchmarks/gpu_slice.py --steps 300 --items 40     # about 2 minutes on one H100-class GPU

Run by ``benchmarks/gpu_check.sh``; on a CPU it runs too (slowly), which is how CI-less machines check it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from starlib.study.trainings import recipes as R                        # noqa: E402
from starlib.study.tables.entries import table_rows, trained_entry   # noqa: E402
from starlib.study.tables.floors import floor_entry                  # noqa: E402
from starlib.study.setup.profile import load_profile                # noqa: E402
from starlib.study.setup.workspace import Workspace                 # noqa: E402
from starlib.util.provenance import write_results_csv         # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="gpu")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--items", type=int, default=40, help="test items per benchmark")
    p.add_argument("--device", default="")
    p.add_argument("--runs-dir", default=str(REPO / "runs" / "gpu_check"))
    p.add_argument("--out", default=str(REPO / "results" / "gpu_check" / "gpu_slice.csv"))
    args = p.parse_args(argv)
    start = time.perf_counter()
    prof = load_profile(args.profile)
    prof = dataclasses.replace(prof, stages=dataclasses.replace(prof.stages, net_s_steps=args.steps),
                               data=dataclasses.replace(prof.data, max_test_items=args.items))
    ws = Workspace.create(prof, runs_dir=args.runs_dir, device=args.device, progress=True)
    what = R.net_s_stage(prof, R.model_config(prof))
    bench = R.test_benchmarks(prof)
    ours = trained_entry(ws, "Net_S alone (stage a)", what, bench, ("sr_t",))
    summary = table_rows(None, [ours, floor_entry(ws, bench, ("sr_t",), label="Bicubic")], reference="Bicubic")
    log = ours.run.log
    tail = log[len(log) // 2:]
    seconds = sorted(float(r["seconds_per_step"]) for r in tail)
    waiting = sorted(float(r.get("data_seconds") or 0) / max(float(r["seconds_per_step"]), 1e-9) for r in tail)
    summary["steps"] = args.steps
    summary["median_seconds_per_step"] = seconds[len(seconds) // 2] if seconds else float("nan")
    summary["median_data_wait_share"] = waiting[len(waiting) // 2] if waiting else float("nan")   # device idle
    prov = ws.provenance(f"train: {R.training_split(prof)[2]}; test: first {args.items} items per benchmark",
                         sum(len(w) for w in bench.values()), time.perf_counter() - start)
    write_results_csv(summary.to_dict("records"), args.out, prov)
    print(summary[["method", "dataset", "metric", "mean", "delta_vs_reference", "median_seconds_per_step"]]
          .to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
