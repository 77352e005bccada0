"""``python -m starlib <command>``: the one command line of the project. Each command lives in a small module of
this package (its parser and what it runs); this module only gathers them and turns the errors a user can fix
into one line.

    python -m starlib data fetch --all --mirror /shared/data      # the data sets (data)
    python -m starlib reproduce --profile cpu                     # the whole study headless (study)
    python -m starlib report --profile cpu                        # docs/results/<profile>.md (study)
    python -m starlib site --profile smoke                        # site/<profile>/index.html (study)
    python -m starlib scaling --profile cpu --group central       # claims against compute (study)
    python -m starlib train --profile cpu --objective STAR-ST     # one objective and its stages (train)
    torchrun --nproc_per_node 4 -m starlib train --profile paper --objective STAR --device cuda
    python -m starlib prepare --profile cpu                       # the study's flows ahead (train)
    python -m starlib ship --profile cpu                          # finished runs into checkpoints/ (train)
    python -m starlib enhance clip.mp4 -o clip_x4.mp4             # a video through STARnet (enhance)
    python -m starlib import-official FBPNSR_RBPN_V4_REF_Lr_STAR_ST.pth -o star_st_authors.pt   (enhance)
    python -m starlib zsm --checkpoint runs/paper/STAR-ST-<hash>/model.pt --vid4 Vid4   # ZSM protocol (zsm)

Errors about inputs, outputs, checkpoints, profiles and data print one line (``error: ...``, naming the file
and the fix) and exit with status 2; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from starlib.cli import data, enhance, study, train, zsm
from starlib.cli.verb import Verb

#: command -> Verb(add its parser, run it), in the order ``--help`` lists them: the study, then single tools.
COMMANDS: dict[str, Verb] = {**data.VERBS, **study.VERBS, **train.VERBS, **enhance.VERBS, **zsm.VERBS}


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (each command's options under its name)."""
    parser = argparse.ArgumentParser(prog="python -m starlib", description="starlib: the STARnet study and its "
                                     "tools. `python -m starlib COMMAND --help` says what a command does.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb in COMMANDS.values():
        verb.add(sub)
    return parser


def _fixable_errors() -> tuple[type[BaseException], ...]:
    """The errors a user can fix (a file, a flag, a profile, data, a device): one line, not a traceback."""
    from starlib.data.fetch import FetchError
    from starlib.data.images import ImageError
    from starlib.infer.enhance import EnhanceError
    from starlib.infer.videoio import MediaError
    from starlib.models.checkpoint import CheckpointError
    from starlib.study.trainings.shipped_runs import TrainingNotAllowed
    from starlib.train import TrainingDiverged
    from starlib.train.trainer import RunLocked
    from starlib.util.atomic import DiskFullError
    from starlib.util.config import ConfigError
    from starlib.util.damaged import DamagedFileError
    from starlib.util.hardware import DeviceUnavailable

    return (EnhanceError, MediaError, ImageError, CheckpointError, ConfigError, DeviceUnavailable, RunLocked,
            TrainingDiverged, FetchError, FileNotFoundError, DiskFullError, DamagedFileError, TrainingNotAllowed)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: the process's arguments), run the command; its exit status."""
    args = build_parser().parse_args(argv)
    fixable = _fixable_errors()
    try:
        status = COMMANDS[args.command].run(args)
        sys.stdout.flush()                  # a reader gone away is met here, not at the interpreter's exit
        return status
    except fixable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written (an earlier output is unchanged; a training run resumes from its "
              "last checkpoint)", file=sys.stderr)
        return 130
    except BrokenPipeError:                 # output piped into a reader that stopped early (e.g. `| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # so the exit's flush stays quiet
        return 141
