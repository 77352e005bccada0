"""``enhance`` (a video or frames through a trained STARnet) and ``import-official`` (the authors' weights as a
starlib checkpoint)."""

from __future__ import annotations

import argparse
import sys

from starlib.cli.verb import Subparsers, Verb


def _add_enhance(sub: Subparsers) -> None:
    from starlib.infer.enhance import DEMO_ST, DEMO_T_HR, ENHANCE_MODES, Settings
    from starlib.flow import BACKENDS
    from starlib.util.paths import REPO_ROOT

    d = Settings()
    st, thr = DEMO_ST.relative_to(REPO_ROOT), DEMO_T_HR.relative_to(REPO_ROOT)
    p = sub.add_parser(
        "enhance", help="4x space and/or 2x frame rate for a video file or a folder of frames",
        description="Enhance a clip with a trained STARnet. INPUT: a video file, a folder of frames or one image. "
                    "OUTPUT: a video (.mp4, .mkv, .mov, .avi; H.264) or a folder of PNG frames with video.json. "
                    "Frames stream through (memory does not grow with the clip's length); large frames are tiled. "
                    "Frames the network cannot take as they are get edge-padded at the right/bottom and the "
                    "outputs cropped back (never modcropped); odd-sized video outputs lose their last row/column.")
    p.add_argument("input", help="video file, folder of frames, or image")
    p.add_argument("-o", "--output", required=True, help="video file (by extension) or folder")
    p.add_argument("--mode", choices=sorted(ENHANCE_MODES), default="st",
                   help="; ".join(f"{m.name}: {m.description}" for m in ENHANCE_MODES.values()) + " (default: st)")
    p.add_argument("--times", type=int, choices=(1, 2), default=1,
                   help="frame-rate doublings: 2 adds a STAR-T_HR pass on the outputs (paper Table 5); default 1")
    p.add_argument("--checkpoint", default=None,
                   help=f"model.pt of the mode's variant (default: {st}; {thr} for --mode t)")
    p.add_argument("--checkpoint2", default=None,
                   help=f"STAR-T_HR model.pt for the second pass of --times 2 (default: {thr}, or --checkpoint "
                        f"in mode t)")
    p.add_argument("--tile", type=int, default=d.tile,
                   help=f"tile side in input px, 0 = whole frames (default: {d.tile})")
    p.add_argument("--overlap", type=int, default=d.overlap,
                   help=f"overlap of neighbouring tiles, input px (default: {d.overlap})")
    p.add_argument("--margin", type=int, default=d.margin,
                   help=f"px at inner tile borders left out of the blend, a receptive-field allowance "
                        f"(default: {d.margin})")
    p.add_argument("--device", default="auto", help="auto (default: CUDA when available), cpu, cuda or cuda:N")
    p.add_argument("--flow", choices=sorted(BACKENDS), default=d.flow_backend,
                   help=f"optical-flow backend (default: {d.flow_backend})")
    p.add_argument("--flow-cache", default=None, help="folder to cache flows in (default: no cache)")
    p.add_argument("--fps", type=float, default=None,
                   help="input frame rate (default: the video's; for folders their video.json, else 25)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--channels-last", action="store_true", help="channels-last memory layout")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (slightly different outputs)")
    p.add_argument("--no-prefetch", action="store_true", help="compute flows inline, not on a worker thread")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _run_enhance(args: argparse.Namespace) -> int:
    from starlib.infer.enhance import Settings, enhance, enhance_mode
    from starlib.models.checkpoint import MAX_PARAMETERS
    from starlib.util import env

    settings = Settings(tile=args.tile, overlap=args.overlap, margin=args.margin, flow_backend=args.flow,
                        flow_cache=args.flow_cache, channels_last=args.channels_last, bf16=args.bf16,
                        prefetch_flows=not args.no_prefetch)
    r = enhance(args.input, args.output, args.checkpoint, enhance_mode(args.mode), args.times, args.checkpoint2,
                settings, args.device, args.fps, args.overwrite, progress=not args.quiet,
                max_parameters=env.max_parameters(MAX_PARAMETERS))
    print(f"{r.output}: {r.frames_out} frames {r.size_out[0]}x{r.size_out[1]} at {r.fps_out:g} fps "
          f"(from {r.frames_in} frames {r.size_in[0]}x{r.size_in[1]} at {r.fps_in:g} fps) in {r.seconds:.1f} s "
          f"on {r.device}")
    return 0


def _add_import_official(sub: Subparsers) -> None:
    from starlib.models.official import VARIANTS
    from starlib.paper.objectives import OBJECTIVES

    p = sub.add_parser("import-official", help="convert one of the authors' released STARnet .pth files",
                       description="Read one of the authors' released STARnet weight files (alterzero/STARnet: "
                                   f"{', '.join(VARIANTS)} and the finetunes; DataParallel 'module.' prefixes and "
                                   "all), infer its variant from the keys, load it strictly into the paper-width "
                                   "network and write a starlib checkpoint with its config and the source file's "
                                   "SHA256 (evaluation only: docs/published_models.md).")
    p.add_argument("file", help="the authors' .pth file, e.g. FBPNSR_RBPN_V4_REF_Lr_STAR_ST.pth")
    p.add_argument("-o", "--output", required=True, help="the starlib checkpoint to write (.pt)")
    p.add_argument("--objective", choices=sorted(OBJECTIVES), default=None,
                   help="the objective it was trained for (default: from the file name, e.g. ..._STAR_ST.pth)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")


def _run_import_official(args: argparse.Namespace) -> int:
    from starlib.models.official import import_official

    try:
        r = import_official(args.file, args.output, args.objective, args.overwrite)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{r.output}: {r.variant} ({r.parameters:,} parameters), objective {r.objective or 'not named'}, "
          f"from {args.file} (SHA256 {r.source_sha256[:12]}...)")
    return 0


VERBS = {"enhance": Verb(_add_enhance, _run_enhance), "import-official": Verb(_add_import_official, _run_import_official)}
