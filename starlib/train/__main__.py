"""Train one variant from the command line; works under ``torchrun`` for multi-GPU (DDP) training.

    python -m starlib.train --profile cpu --objective STAR
    torchrun --nproc_per_node 4 -m starlib.train --profile paper --objective STAR --device cuda
"""

from __future__ import annotations

import argparse
import json
import os

import torch
import torch.distributed as dist

from starlib.study.profile import available_profiles, load_profile
from starlib.study.recipes import train_model
from starlib.train.losses import OBJECTIVES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu", choices=available_profiles())
    parser.add_argument("--objective", default="STAR", choices=sorted(OBJECTIVES))
    parser.add_argument("--variant", default="{}", help='STARConfig overrides as JSON, e.g. \'{"stage2": false}\'')
    parser.add_argument("--steps", type=int, default=None, help="override the profile's number of steps")
    parser.add_argument("--runs-dir", default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        backend = "nccl" if args.device.startswith("cuda") else "gloo"
        dist.init_process_group(backend)
        if args.device.startswith("cuda"):
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    overrides = {"steps": args.steps} if args.steps else {}
    result = train_model(load_profile(args.profile), args.objective, json.loads(args.variant),
                         runs_dir=args.runs_dir, device=args.device, **overrides)
    if not distributed or dist.get_rank() == 0:
        print(f"run {result.run_dir} ({'reused' if result.reused else 'trained'}, {result.wall_time_s:.0f} s)")
    if distributed:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
