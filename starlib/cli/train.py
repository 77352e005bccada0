"""``train`` (one objective, or every run of the study, under torchrun too), ``prepare`` (the study's flows ahead)
and ``ship`` (finished runs into git)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from starlib.cli.verb import Subparsers, Verb
from starlib.util.config import TomlValue

if TYPE_CHECKING:
    from starlib.study.setup.workspace import Workspace
    from starlib.study.trainings.recipes import Training


def _profile_parser(sub: Subparsers, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """A command's parser with the ``--profile`` option every command here takes."""
    from starlib.study.setup.profile import available_profiles

    p = sub.add_parser(name, help=help, description=description)
    p.add_argument("--profile", default="cpu", choices=available_profiles())
    return p


def _add_train(sub: Subparsers) -> None:
    from starlib.paper.objectives import OBJECTIVES

    p = _profile_parser(sub, "train", "train (or resume, or reuse) one objective of a profile; works under torchrun",
        "Train one objective of a profile on its data, as the notebooks do (same run names: a finished run "
        "is reused, an interrupted one resumed; a finetune first trains its parent). Under torchrun each "
        "process takes its share of every batch.")
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


def _variant(text: str) -> dict[str, TomlValue]:
    """``--variant``: STARConfig changes as a JSON object."""
    import json

    from starlib.util.config import ConfigError

    try:
        variant = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--variant {text!r} is not JSON: {exc}") from exc
    if not isinstance(variant, dict):
        raise ConfigError(f"--variant {text!r} must be a JSON object of STARConfig fields, e.g. "
                          f"'{{\"stage2\": false}}'")
    return variant


def _train_workspace(args: argparse.Namespace) -> Workspace:
    """The profile (with ``--net-s-file`` / ``--fr-file`` as its stage files) and where it trains; the
    environment's parameter bound is read here, at the edge."""
    import dataclasses
    from pathlib import Path

    from starlib.models.checkpoint import MAX_PARAMETERS
    from starlib.study.setup.profile import load_profile
    from starlib.study.setup.workspace import Workspace
    from starlib.util import env

    runs_dir = Path(args.runs_dir).resolve() if args.runs_dir else None   # a flag is relative to where it is typed
    bound = env.max_parameters(MAX_PARAMETERS)         # $STARLIB_MAX_PARAMETERS
    profile = load_profile(args.profile, bound)
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
    return Workspace.create(profile, runs_dir=runs_dir, device=args.device, allow_training=True,  # asked to train
                            max_parameters=bound)


def _study_selection(ws: Workspace, args: argparse.Namespace) -> list[tuple[str, Workspace, Training]]:
    """``--all``: ``(run name, workspace, training)`` of every run of the study (with ``--scaling`` also the
    budgets' runs; with ``--only`` one run and the runs it starts from), stages first."""
    from starlib.study.trainings.inventory import study_runs
    from starlib.study.trainings.plans import stages
    from starlib.util.config import ConfigError

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
    return runs


def _run_train(args: argparse.Namespace) -> int:
    import dataclasses
    import os

    import torch
    import torch.distributed as dist

    from starlib.study.trainings.plans import run_configs
    from starlib.study.trainings.recipes import Training
    from starlib.study.trainings.training_runs import train_run

    variant = _variant(args.variant)
    ws = _train_workspace(args)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1          # set by torchrun
    if distributed:
        dist.init_process_group("nccl" if ws.device.type == "cuda" else "gloo")
        if ws.device.type == "cuda":                    # one GPU per process
            ws = dataclasses.replace(ws, device=torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))))
            torch.cuda.set_device(ws.device)
    if args.all:
        runs = _study_selection(ws, args)
        if args.list:
            for name, run_ws, what in runs:
                done = (run_ws.runs / name / "model.pt").is_file()
                steps = run_configs(run_ws, what)[1].steps
                print(f"{name}\t{what.objective}\t{steps} steps\t{'finished' if done else 'to train'}")
            return 0
        whats = [(w, t) for _, w, t in runs]
    else:
        overrides = {"steps": args.steps} if args.steps is not None else {}
        whats = [(ws, Training(args.objective, variant, overrides))]
    for run_ws, what in whats:
        result = train_run(run_ws, what)
        if not distributed or dist.get_rank() == 0:
            print(f"run {result.run_dir} ({'reused' if result.reused else 'trained'}, {result.wall_time_s:.0f} s)",
                  flush=True)
    if distributed:
        dist.destroy_process_group()
    return 0


def _add_prepare(sub: Subparsers) -> None:
    p = _profile_parser(sub, "prepare", "compute every flow the study needs into the cache, in parallel",
        "Fill cache/flows/ ahead of training and scoring: the flows of every training window of every run "
        "that uses flows (with the FR targets) and of the test pairs they are scored on, on several "
        "processes. The cache is the same a serial run fills; `make reproduce` runs this first.")
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


def _add_ship(sub: Subparsers) -> None:
    p = _profile_parser(sub, "ship", "copy the finished runs notebook 13 compares into checkpoints/<profile>/ (git)",
        "Ship the finished runs of Tables 7-10 (those notebook 13 compares) in git: copy them from "
        "runs/<profile>/ to checkpoints/<profile>/<run>/, remove the other runs shipped there, ship their "
        "per-item scores, write the model card and, for the cpu profile, refresh enhance's demo "
        "checkpoints. A fresh clone then reuses them instead of training.")
    p.add_argument("--runs-dir", default=None, help="parent of the per-profile runs folder (default: runs/)")
    p.add_argument("--cache-dir", default=None,
                   help="the cache whose scores/ the runs' per-item scores are shipped from (default: cache/)")


def _run_ship(args: argparse.Namespace) -> int:
    from pathlib import Path

    from starlib.study.trainings.shipping import MODEL_CARD, ship
    from starlib.study.setup.workspace import Workspace
    from starlib.util.paths import SHIPPED_RUNS_DIR

    runs_dir = Path(args.runs_dir).resolve() if args.runs_dir else None
    cache_dir = Path(args.cache_dir).resolve() if args.cache_dir else None
    ws = Workspace.create(args.profile, runs_dir=runs_dir, cache_dir=cache_dir, device="cpu")
    shipped = ship(ws)
    for run in shipped:
        print(f"shipped {run.label}: {run.name} ({run.size:,} bytes)")
    print(f"{sum(r.size for r in shipped):,} bytes in all; model card "
          f"{SHIPPED_RUNS_DIR / args.profile / MODEL_CARD}")
    return 0


VERBS = {"train": Verb(_add_train, _run_train), "prepare": Verb(_add_prepare, _run_prepare),
         "ship": Verb(_add_ship, _run_ship)}
