"""``zsm``: score an ST-SR checkpoint under the Zooming Slow-Mo protocol."""

from __future__ import annotations

import argparse
import sys

from starlib.cli.verb import Subparsers, Verb


def _add_zsm(sub: Subparsers) -> None:
    from starlib.data.degrade import LR_METHODS
    from starlib.data.septuplets import VIMEO_LISTS
    from starlib.evaluation.zsm import DEFAULT_KEY_FRAMES, KEY_FRAME_CHOICES
    from starlib.flow import BACKENDS, DEFAULT_BACKEND
    from starlib.infer.enhance import DEMO_ST
    from starlib.util.paths import REPO_ROOT

    p = sub.add_parser(
        "zsm", help="score an ST-SR checkpoint under the ZSM protocol (Vid4, Vimeo-Fast/Medium/Slow; Y channel)",
        description="Score a checkpoint the way Zooming Slow-Mo / TMNet score space-time SR: 7-frame windows, frames "
                    "1, 3, 5, 7 downsampled x4 in, all seven HR frames predicted (by the network on the pairs "
                    "(1,3), (3,5), (5,7)), PSNR/SSIM on unrounded BT.601 Y without border crop, the mean over a "
                    "clip's frames, then over clips. Without --vid4 / --vimeo: the 12-frame TOFlow clip (data set toflow_clip). "
                    "Prints the table (bicubic beside the checkpoint, and TMNet's reported rows).")
    p.add_argument("--checkpoint", default=str(DEMO_ST),
                   help=f"model.pt of an ST-SR run (STAR-ST or STAR; default: {DEMO_ST.relative_to(REPO_ROOT)})")
    p.add_argument("--vid4", default="", help="Vid4 folder: holds GT/<clip>/ (or HR/<clip>/), or the clip folders")
    p.add_argument("--vid4-lr", default="", help="given Vid4 LR frames: a folder of <clip>/ folders or its name "
                                                 "under --vid4 (e.g. BIx4); default: made from GT (--lr-method)")
    p.add_argument("--vimeo", default="", help="the vimeo_septuplet folder (holds sequences/<folder>/<clip>/)")
    p.add_argument("--lists", default=",".join(VIMEO_LISTS), help="Vimeo lists, comma-separated (default: all)")
    p.add_argument("--lr-method", choices=LR_METHODS, default="matlab",
                   help="how LR frames are made from GT: matlab (ZSM's and TMNet's BI x4; default, the only LR whose "
                        "Vid4 scores compare with TMNet's reported rows) or pil (STARnet's training LR; Vid4 is then "
                        "reported as 'vid4_pil')")
    p.add_argument("--key-frames", choices=KEY_FRAME_CHOICES, default=DEFAULT_KEY_FRAMES,
                   help="frames 3 and 5 come from the earlier pair (first), the later pair (second; default, what "
                        "enhance writes) or their mean; every choice is measured, this one is the headline")
    p.add_argument("--zsm-tail", action=argparse.BooleanOptionalAction, default=True,
                   help="a last window ending at a clip's last frame (TMNet; default); --no-zsm-tail: ZSM's test.py")
    p.add_argument("--max-clips", type=int, default=0, help="first N clips per data set (default: all)")
    p.add_argument("--max-windows", type=int, default=0, help="first N windows per clip (default: all)")
    p.add_argument("--crop", default="0x0", help="HR centre crop HxW of every frame (default 0x0: whole frames)")
    p.add_argument("--tile", type=int, default=0, help="tile side in LR px, 0 = whole frames (default)")
    p.add_argument("--device", default="auto", help="auto (default: CUDA when available), cpu, cuda or cuda:N")
    p.add_argument("--flow", choices=sorted(BACKENDS), default=DEFAULT_BACKEND,
                   help=f"optical-flow backend (default: {DEFAULT_BACKEND})")
    p.add_argument("--flow-cache", default=None, help="folder to cache flows in (default: no cache)")
    p.add_argument("--no-bicubic", action="store_true", help="leave out the bicubic reference row")
    p.add_argument("--output", default=None,
                   help="folder to write zsm.csv (summary), zsm_items.csv (per frame) and zsm.md into")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _run_zsm(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from starlib.data.septuplets import ClipError
    from starlib.flow import FlowCache
    from starlib.infer.enhance import ENHANCE_MODES, load_for_mode
    from starlib.models.checkpoint import MAX_PARAMETERS
    from starlib.study.setup.profile import ZSMSettings
    from starlib.study.tables.table_zsm import score_checkpoint
    from starlib.util import env
    from starlib.util.atomic import atomic_write_text
    from starlib.util.hardware import resolve_device
    from starlib.util.provenance import provenance, write_results_csv

    start = time.perf_counter()
    try:
        crop = tuple(int(x) for x in args.crop.lower().split("x"))
        if len(crop) != 2:
            raise ValueError
    except ValueError:
        print(f"error: --crop {args.crop!r} is not HxW (e.g. 256x448, or 0x0 for whole frames)", file=sys.stderr)
        return 2
    lists = tuple(x.strip() for x in args.lists.split(",") if x.strip())
    try:
        settings = ZSMSettings(vid4_root=args.vid4, vid4_lr_root=args.vid4_lr, vimeo_septuplet_root=args.vimeo,
                               vimeo_lists=lists, max_clips=args.max_clips, max_windows=args.max_windows,
                               crop=crop, lr_method=args.lr_method, key_frames=args.key_frames,
                               tail_window=args.zsm_tail)
        model, objective = load_for_mode(args.checkpoint, ENHANCE_MODES["st"],
                                         max_parameters=env.max_parameters(MAX_PARAMETERS))
        device = resolve_device(args.device)
        label = f"{objective} ({Path(args.checkpoint).name})"
        note = "" if args.vid4 or args.vimeo else ("training data of the cpu profile (and of the demo checkpoints): "
                                                   "not a test score")
        result = score_checkpoint(model, label, settings, FlowCache(args.flow_cache, args.flow), device,
                                  tile=args.tile, bicubic=not args.no_bicubic, progress=not args.quiet,
                                  toflow_note=note)
    except (ClipError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.markdown)
    if args.output:
        out = Path(args.output)
        data = ", ".join(f"{d.name}:{len(d.clips)} clips" for d in result.datasets)
        prov = provenance("cli", -1, data, sum(len(d.clips) for d in result.datasets), time.perf_counter() - start,
                          device=device)
        write_results_csv(result.items.to_dict("records"), out / "zsm_items.csv", prov)
        write_results_csv(result.summary.to_dict("records"), out / "zsm.csv", prov)
        atomic_write_text(out / "zsm.md", result.markdown)
        print(f"wrote {out / 'zsm.csv'}, {out / 'zsm_items.csv'}, {out / 'zsm.md'}")
    return 0


VERBS = {"zsm": Verb(_add_zsm, _run_zsm)}
