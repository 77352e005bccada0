"""``python -m starlib <command>``: command-line tools. Commands: ``enhance``, ``train``, ``prepare``, ``ship``,
``zsm``, ``import-official``, ``data`` (see COMMANDS).

    python -m starlib enhance clip.mp4 -o clip_x4.mp4
    python -m starlib train --profile cpu --objective STAR-ST
    python -m starlib ship --profile cpu
    torchrun --nproc_per_node 4 -m starlib train --profile paper --objective STAR --device cuda
    python -m starlib import-official FBPNSR_RBPN_V4_REF_Lr_STAR_ST.pth -o star_st_authors.pt
    python -m starlib zsm --checkpoint runs/paper/STAR-ST-<hash>/model.pt --vid4 Vid4 --vimeo vimeo_septuplet
    python -m starlib data fetch --all --mirror /shared/data
    python -m starlib data status

Errors about inputs, outputs and checkpoints print one line (``error: ...``, naming the file and the fix)
and exit with status 2; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def _add_enhance(sub: argparse._SubParsersAction) -> None:
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

    settings = Settings(tile=args.tile, overlap=args.overlap, margin=args.margin, flow_backend=args.flow,
                        flow_cache=args.flow_cache, channels_last=args.channels_last, bf16=args.bf16,
                        prefetch_flows=not args.no_prefetch)
    r = enhance(args.input, args.output, args.checkpoint, enhance_mode(args.mode), args.times, args.checkpoint2,
                settings, args.device, args.fps, args.overwrite, progress=not args.quiet)
    print(f"{r.output}: {r.frames_out} frames {r.size_out[0]}x{r.size_out[1]} at {r.fps_out:g} fps "
          f"(from {r.frames_in} frames {r.size_in[0]}x{r.size_in[1]} at {r.fps_in:g} fps) in {r.seconds:.1f} s "
          f"on {r.device}")
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    from starlib.paper.objectives import OBJECTIVES
    from starlib.study.setup.profile import available_profiles

    p = sub.add_parser("train", help="train (or resume, or reuse) one objective of a profile; works under torchrun",
                       description="Train one objective of a profile on its data, as the notebooks do (same run "
                                   "names: a finished run is reused, an interrupted one resumed; a finetune first "
                                   "trains its parent). Under torchrun each process takes its share of every batch.")
    p.add_argument("--profile", default="cpu", choices=available_profiles())
    p.add_argument("--objective", default="STAR", choices=list(OBJECTIVES))
    p.add_argument("--variant", default="{}", help='STARConfig changes as JSON, e.g. \'{"stage2": false}\'')
    p.add_argument("--all", action="store_true", help="train every run the study's notebooks need (stages first), "
                                                      "e.g. under torchrun before `make reproduce` scores them")
    p.add_argument("--only", default=None, help="with --all: only this run of the study (and the runs it starts "
                                               "from), by its folder name")
    p.add_argument("--scaling", action="store_true", help="with --all: also the runs of the profile's [scaling] "
                                                          "budgets (notebook 15; hours on a CPU, see docs/scaling.md)")
    p.add_argument("--list", action="store_true", help="with --all: list the runs (and whether each is finished) "
                                                       "instead of training them")
    p.add_argument("--steps", type=int, default=None, help="override the profile's number of steps")
    p.add_argument("--runs-dir", default=None, help="parent of the per-profile runs folder (default: runs/)")
    p.add_argument("--net-s-file", default=None, help="start Net_S from this file instead of stage (a) (e.g. the "
                                                      "authors' rbpn_pretrained_F2_4x.pth; = [stages] net_s_file)")
    p.add_argument("--fr-file", default=None, help="start the FR U-Net from this file instead of stage (b) (e.g. "
                                                   "the authors' flow_refinement.pth; = [stages] fr_file)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: the profile's, auto: CUDA "
                                                   "when available); under torchrun each process takes its LOCAL_RANK GPU")


def _run_train(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    import os
    from pathlib import Path

    import torch
    import torch.distributed as dist

    from starlib.util.config import ConfigError
    from starlib.study.setup.profile import load_profile
    from starlib.study.trainings.recipes import Training
    from starlib.study.trainings.training_runs import train_run
    from starlib.study.setup.workspace import Workspace

    try:
        variant = json.loads(args.variant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--variant {args.variant!r} is not JSON: {exc}") from exc
    if not isinstance(variant, dict):
        raise ConfigError(f"--variant {args.variant!r} must be a JSON object of STARConfig fields, e.g. "
                          f"'{{\"stage2\": false}}'")
    runs_dir = Path(args.runs_dir).resolve() if args.runs_dir else None   # a flag is relative to where it is typed
    profile = load_profile(args.profile)
    files = {}
    for key, value in (("net_s_file", args.net_s_file), ("fr_file", args.fr_file)):
        if value is not None:
            path = Path(value).expanduser().resolve()
            if not path.is_file():
                raise FileNotFoundError(f"--{key.replace('_', '-')} {value}: {path} does not exist; give the path "
                                        f"of the weights file")
            files[key] = str(path)
    if files:
        profile = dataclasses.replace(profile, stages=dataclasses.replace(profile.stages, **files))
    ws = Workspace.create(profile, runs_dir=runs_dir, device=args.device, allow_training=True)  # asked to train
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        dist.init_process_group("nccl" if ws.device.type == "cuda" else "gloo")
        if ws.device.type == "cuda":                    # one GPU per process
            ws = dataclasses.replace(ws, device=torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))))
            torch.cuda.set_device(ws.device)
    overrides = {"steps": args.steps} if args.steps is not None else {}
    if args.all:
        from starlib.study.trainings.inventory import study_runs
        from starlib.study.trainings.plans import run_configs, stages
        runs = [(n, ws, t) for n, t in study_runs(ws)]
        if args.scaling:
            from starlib.study.trainings.scaling_runs import scaling_runs
            known = {n for n, _, _ in runs}
            runs += [r for r in scaling_runs(ws) if r[0] not in known]
        if args.only is not None:
            names = {n: (w, t) for n, w, t in runs}
            if args.only not in names:
                raise ConfigError(f"--only {args.only}: not a run of the {args.profile} study; its runs are "
                                  f"{', '.join(names)}")
            only_ws, only = names[args.only]
            runs = [(n, w, t) for n, w, t in runs if w is only_ws and t in stages(only_ws, only)]
        if args.list:
            for name, run_ws, what in runs:
                done = (run_ws.runs / name / "model.pt").is_file()
                steps = run_configs(run_ws, what)[1].steps
                print(f"{name}\t{what.objective}\t{steps} steps\t{'finished' if done else 'to train'}")
            return 0
        whats = [(w, t) for _, w, t in runs]
    else:
        whats = [(ws, Training(args.objective, variant, overrides))]
    for run_ws, what in whats:
        result = train_run(run_ws, what)
        if not distributed or dist.get_rank() == 0:
            print(f"run {result.run_dir} ({'reused' if result.reused else 'trained'}, {result.wall_time_s:.0f} s)",
                  flush=True)
    if distributed:
        dist.destroy_process_group()
    return 0


def _add_zsm(sub: argparse._SubParsersAction) -> None:
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
    from starlib.study.setup.profile import ZSMSettings
    from starlib.study.tables.table_zsm import score_checkpoint
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
        model, objective = load_for_mode(args.checkpoint, ENHANCE_MODES["st"])
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


def _add_prepare(sub: argparse._SubParsersAction) -> None:
    from starlib.study.setup.profile import available_profiles

    p = sub.add_parser("prepare", help="compute every flow the study needs into the cache, in parallel",
                       description="Fill cache/flows/ ahead of training and scoring: the flows of every training "
                                   "window of every run that uses flows (with the FR targets) and of the test pairs "
                                   "they are scored on, on several processes. The cache is the same a serial run "
                                   "fills; `make reproduce` runs this first.")
    p.add_argument("--profile", default="cpu", choices=available_profiles())
    p.add_argument("--workers", type=int, default=0, help="processes (default 0: every core this process may use)")
    p.add_argument("--cache-dir", default=None, help="the cache folder holding flows/ (default: cache/)")


def _run_prepare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from starlib.study.trainings.prepare import prepare_flows
    from starlib.study.setup.workspace import Workspace
    from starlib.util.config import ConfigError

    if args.workers < 0:
        raise ConfigError(f"--workers {args.workers}: give a number of processes >= 1, or 0 for every core")
    cache_dir = Path(args.cache_dir).resolve() if args.cache_dir else None   # relative to where it is typed
    ws = Workspace.create(args.profile, cache_dir=cache_dir, device="cpu")
    computed, found = prepare_flows(ws, args.workers)
    print(f"flows in {ws.flows.root}: {computed} computed, {found} already cached")
    return 0


def _add_ship(sub: argparse._SubParsersAction) -> None:
    from starlib.study.setup.profile import available_profiles

    p = sub.add_parser("ship", help="copy the finished runs notebook 13 compares into checkpoints/<profile>/ (git)",
                       description="Ship the finished runs of Tables 7-10 (those notebook 13 compares) in git: copy "
                                   "them from runs/<profile>/ to checkpoints/<profile>/<run>/, remove the other runs "
                                   "shipped there, ship their per-item scores, write the model card and, for the cpu profile, refresh "
                                   "enhance's demo checkpoints. A fresh clone then reuses them instead of training.")
    p.add_argument("--profile", default="cpu", choices=available_profiles())
    p.add_argument("--runs-dir", default=None, help="parent of the per-profile runs folder (default: runs/)")
    p.add_argument("--cache-dir", default=None,
                   help="the cache whose scores/ the runs' per-item scores are shipped from (default: cache/)")


def _run_ship(args: argparse.Namespace) -> int:
    from pathlib import Path

    from starlib.study.setup.profile import load_profile
    from starlib.study.trainings.shipping import MODEL_CARD, ship
    from starlib.study.setup.workspace import Workspace
    from starlib.util.paths import SHIPPED_RUNS_DIR

    runs_dir = Path(args.runs_dir).resolve() if args.runs_dir else None
    cache_dir = Path(args.cache_dir).resolve() if args.cache_dir else None
    ws = Workspace.create(load_profile(args.profile), runs_dir=runs_dir, cache_dir=cache_dir, device="cpu")
    shipped = ship(ws)
    for run in shipped:
        print(f"shipped {run.label}: {run.name} ({run.size:,} bytes)")
    print(f"{sum(r.size for r in shipped):,} bytes in all; model card "
          f"{SHIPPED_RUNS_DIR / args.profile / MODEL_CARD}")
    return 0


def _add_import_official(sub: argparse._SubParsersAction) -> None:
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


def _add_data(sub: argparse._SubParsersAction) -> None:
    from starlib.data.fetch import MIRROR_ENV
    from starlib.data.registry import DATASETS, human_size
    from starlib.util.paths import DATA_ENV

    p = sub.add_parser("data", help="fetch the registered data sets into the data root, or say what is there",
                       description=f"The data sets ({', '.join(f'{n} {human_size(d.size)}' for n, d in DATASETS.items())}) "
                                   f"are fetched from their pinned sources into the data root (${DATA_ENV}, default "
                                   f"data/ in the repository), every file checked against its SHA-256; see "
                                   f"docs/datasets.md.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    f = actions.add_parser("fetch", help="download (or copy from a mirror) what is missing or corrupt",
                           description="Fetch the named data sets (default: all) into the data root, in parallel; "
                                       "files already there and checked are kept, so a second run fetches only "
                                       "what is missing or corrupt.")
    f.add_argument("names", nargs="*", metavar="NAME", help=f"data sets: {', '.join(DATASETS)} (default: all)")
    f.add_argument("--all", action="store_true", help="every data set (the default when no NAME is given)")
    f.add_argument("--root", default=None, help=f"data root to fill (default: ${DATA_ENV}, else data/)")
    f.add_argument("--mirror", default=None, help=f"copy from this folder laid out like the data root instead of "
                                                  f"downloading (default: ${MIRROR_ENV} when set)")
    f.add_argument("--workers", type=int, default=8, help="files fetched at once (default 8)")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    s = actions.add_parser("status", help="each data set: present / missing / corrupt, with counts (exit 1 "
                                          "when any is incomplete)")
    s.add_argument("--root", default=None, help=f"data root to check (default: ${DATA_ENV}, else data/)")


def _run_data(args: argparse.Namespace) -> int:
    from starlib.data.fetch import fetch_command_main, status_command_main

    if args.action == "status":
        return status_command_main(args.root)
    return fetch_command_main([] if args.all else args.names, args.root, args.mirror, args.workers, args.quiet)


#: command -> (add its parser, run it)
COMMANDS: dict[str, tuple[Callable[[argparse._SubParsersAction], None], Callable[[argparse.Namespace], int]]] = {
    "enhance": (_add_enhance, _run_enhance),
    "train": (_add_train, _run_train),
    "prepare": (_add_prepare, _run_prepare),
    "ship": (_add_ship, _run_ship),
    "zsm": (_add_zsm, _run_zsm),
    "import-official": (_add_import_official, _run_import_official),
    "data": (_add_data, _run_data),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m starlib", description="starlib command-line tools")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from starlib.data.fetch import FetchError
    from starlib.data.images import ImageError
    from starlib.infer.enhance import EnhanceError
    from starlib.models.checkpoint import CheckpointError
    from starlib.infer.videoio import MediaError
    from starlib.util.atomic import DiskFullError
    from starlib.util.config import ConfigError
    from starlib.util.damaged import DamagedFileError
    from starlib.study.trainings.shipped_runs import TrainingNotAllowed
    from starlib.train import TrainingDiverged
    from starlib.train.trainer import RunLocked
    from starlib.util.hardware import DeviceUnavailable

    try:
        return COMMANDS[args.command][1](args)
    except (EnhanceError, MediaError, ImageError, CheckpointError, ConfigError, DeviceUnavailable, RunLocked,
            TrainingDiverged, FetchError, FileNotFoundError, DiskFullError, DamagedFileError,
            TrainingNotAllowed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written (an earlier output is unchanged; a training run resumes from its "
              "last checkpoint)", file=sys.stderr)
        return 130

if __name__ == "__main__":
    sys.exit(main())
