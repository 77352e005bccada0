"""Run the numbered notebooks headless with papermill: ``python -m starlib reproduce --profile cpu`` (what
``make reproduce`` runs; ``python -m starlib.study.pipeline`` is an alias kept for old scripts).

Notebook 02 runs once per training objective (parameter ``objective``); the others once. Executed copies go
to ``executed/<profile>/`` (git-ignored); the run stops at the first failing notebook and names the notebook
and the cell.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlib.paper.objectives import OBJECTIVES
from starlib.study.report.report import TIMES_FILE
from starlib.study.setup.profile import available_profiles
from starlib.util.commands import alias_main
from starlib.util.paths import REPO_ROOT
from starlib.util.progress import text_progress

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
#: Parameters a headless run passes to every notebook that declares them (no widgets: see compare_ui).
HEADLESS = {"interactive": False}
#: Notebooks run once per value of one parameter: number -> (parameter, values in order).
FAN_OUT: dict[str, tuple[str, tuple[str, ...]]] = {"02": ("objective", tuple(OBJECTIVES))}


@dataclass(frozen=True)
class NotebookRun:
    """One execution of a notebook: its file, the parameters it gets beyond ``profile``, the executed copy."""

    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        suffix = "".join(f"-{v}" for v in self.parameters.values())
        return f"{self.notebook.stem}{suffix}.ipynb"


def list_notebooks(selection: Sequence[str] | None = None, folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """Numbered notebooks (``NN_name.ipynb``) in order; ``selection`` filters by number or name prefix."""
    books = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return books
    chosen = []
    for item in selection:
        hits = [p for p in books if p.name.startswith(item) or p.stem == item]
        if not hits:
            raise ValueError(f"no notebook matches {item!r}; available: {[p.name for p in books]}")
        chosen.extend(h for h in hits if h not in chosen)
    return sorted(chosen)


def plan(selection: Sequence[str] | None = None, folder: Path = NOTEBOOK_DIR) -> list[NotebookRun]:
    """The executions :func:`run_notebooks` makes, in order (fanned-out notebooks once per value)."""
    runs = []
    for book in list_notebooks(selection, folder):
        fan = FAN_OUT.get(book.name[:2])
        if fan is None:
            runs.append(NotebookRun(book))
        else:
            runs.extend(NotebookRun(book, {fan[0]: value}) for value in fan[1])
    return runs


class NotebookFailed(RuntimeError):
    pass


#: Columns of ``notebook_times.csv``, in order: each row carries the provenance of the run that timed it.
TIMES_COLUMNS = ("notebook", "seconds", "git_commit", "created_utc", "profile", "seed", "data", "n_items",
                 "wall_time_s", "torch_version", "device")


def record_times(times: dict[str, float], results_dir: Path, profile: str) -> Path:
    """Merge this run's wall time per executed notebook into ``<results_dir>/<profile>/notebook_times.csv``:
    rows of notebooks not run now are kept as they are, provenance included; the rows of this run carry its
    provenance (``n_items``: notebooks it ran, ``wall_time_s``: their total)."""
    import pandas as pd

    from starlib.util.atomic import atomic_write_text
    from starlib.util.damaged import set_aside
    from starlib.util.hardware import describe_device
    from starlib.util.provenance import provenance

    path = results_dir / profile / TIMES_FILE
    old = pd.DataFrame(columns=["notebook"])
    if path.is_file():
        try:
            old = pd.read_csv(path, dtype={"git_commit": str})
            if not {"notebook", "seconds"} <= set(old.columns):
                raise ValueError("no notebook and seconds columns")
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            aside = set_aside(path)
            old = pd.DataFrame(columns=["notebook"])
            print(f"warning: {path} is damaged ({str(exc).splitlines()[0][:100]}); kept aside as {aside.name} "
                  f"and written anew with this run's times only", file=sys.stderr)
    kept = old[~old["notebook"].isin(times)].to_dict("records")
    prov = provenance(profile, -1, "notebooks/ (wall time of each executed notebook)", len(times), sum(times.values()))
    prov["device"] = describe_device("cpu")      # the machine the pipeline ran on (its notebooks record theirs)
    fresh = [{"notebook": name, "seconds": round(t, 1), **prov} for name, t in times.items()]
    frame = pd.DataFrame(sorted(kept + fresh, key=lambda r: r["notebook"]), columns=list(TIMES_COLUMNS))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, frame.to_csv(index=False))
    return path


def run_notebooks(profile: str, selection: Sequence[str] | None = None, out_dir: Path | None = None,
                  extra_parameters: dict | None = None, log: Callable[..., None] = print,
                  runs: Sequence[NotebookRun] | None = None) -> list[Path]:
    """Execute the notebooks (``runs``, default: :func:`plan` of ``selection``) with ``profile`` injected;
    returns the executed copies' paths."""
    import papermill as pm  # heavy import, only when running

    if profile not in available_profiles():
        raise ValueError(f"unknown profile {profile!r}; choose one of {available_profiles()}")
    out_dir = Path(out_dir) if out_dir else REPO_ROOT / "executed" / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    executed, times = [], {}
    for run in (plan(selection) if runs is None else runs):
        target = out_dir / run.name
        declared = pm.inspect_notebook(str(run.notebook))
        params = {**{k: v for k, v in HEADLESS.items() if k in declared}, "profile": profile, **run.parameters,
                  **{k: v for k, v in (extra_parameters or {}).items() if k in declared or k != "allow_training"}}
        log(f"[{profile}] running {run.notebook.relative_to(REPO_ROOT)} {run.parameters or ''} -> {target}")
        start = time.perf_counter()
        try:
            # smoke cells take seconds: a cell still running after 15 min is hung, so fail instead of waiting
            with text_progress():         # the kernel inherits it: the saved copy shows finished text bars
                pm.execute_notebook(str(run.notebook), str(target), parameters=params,
                                    cwd=str(run.notebook.parent), progress_bar=False, kernel_name="python3",
                                    execution_timeout=900 if profile == "smoke" else None)
        except pm.PapermillExecutionError as exc:
            raise NotebookFailed(f"{run.name} failed in cell {exc.cell_index} ({exc.ename}: {exc.evalue}); "
                                 f"the executed copy with the traceback is {target}") from exc
        times[run.name] = time.perf_counter() - start
        log(f"[{profile}] {run.name} done in {times[run.name]:.1f} s")
        executed.append(target)
        results = Path((extra_parameters or {}).get("results_dir") or REPO_ROOT / "results")
        record_times(times, results if results.is_absolute() else REPO_ROOT / results, profile)      # after each notebook: a failed run keeps what finished
    return executed


def train_command(profile: str, gpus: int, run: str | None = None, runs_dir: str | Path | None = None) -> list[str]:
    """The command that trains every run of the study on ``gpus`` processes (one per GPU) with torchrun:
    each training stage under DistributedDataParallel, the same run names and resume behaviour as one
    process; the notebooks then only reuse the finished runs and score on one process."""
    if gpus < 1:
        raise ValueError(f"--gpus must be >= 1, got {gpus}")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}",
           "-m", "starlib", "train", "--profile", profile, "--all"]
    return cmd + (["--only", run] if run else []) + (["--runs-dir", str(runs_dir)] if runs_dir else [])


def train_all(profile: str, gpus: int, run: str | None = None, runs_dir: str | Path | None = None,
              env: dict | None = None, log: Callable[..., None] = print) -> None:
    """Run :func:`train_command` from the repository root (an error names the failed command)."""
    import subprocess

    cmd = train_command(profile, gpus, run, runs_dir)
    log(f"[{profile}] training every run on {gpus} processes: {' '.join(cmd[1:])}")
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env)
    if done.returncode:
        raise NotebookFailed(f"training under torchrun failed (exit {done.returncode}): {' '.join(cmd)}")


def fetch_data(log: Callable[..., None] = print) -> None:
    """Every registered data set in the data root before anything reads it: what is missing is fetched (from
    ``$STARLIB_DATA_MIRROR`` or the pinned sources, saying what and how large); failing that, one line naming
    ``python -m starlib data fetch`` (:class:`starlib.data.DataMissing`)."""
    from starlib.data.fetch import require
    from starlib.data.registry import DATASETS

    for name in DATASETS:
        require(name)
    log(f"data: {', '.join(DATASETS)} present")


def prepare(profile: str, workers: int = 0, log: Callable[..., None] = print) -> None:
    """Compute every flow the study needs into the repository's cache on ``workers`` processes, before the
    trainings and notebooks read them (:func:`starlib.study.trainings.prepare.prepare_flows`)."""
    from starlib.study.trainings.prepare import prepare_flows
    from starlib.study.setup.workspace import Workspace

    computed, found = prepare_flows(Workspace.create(profile, device="cpu", progress=False), workers)
    log(f"[{profile}] flows: {computed} computed, {found} already cached")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a headless run (``python -m starlib reproduce``, ``make reproduce``)."""
    parser.add_argument("--profile", default="cpu", choices=available_profiles())
    parser.add_argument("--notebooks", nargs="*", default=None,
                        help="numbers or names of notebooks to run (default: all, in order)")
    parser.add_argument("--out", type=Path, default=None, help="folder for executed copies")
    parser.add_argument("--gpus", type=int, default=0, help="train every run first on this many GPUs with torchrun "
                                                            "(DistributedDataParallel); 0 = in the notebooks")
    parser.add_argument("--flow-workers", type=int, default=0,
                        help="processes computing the study's flows before anything else when every notebook "
                             "runs (python -m starlib prepare; default 0: every core; -1: skip; with --notebooks "
                             "the flows are computed where needed)")
    parser.add_argument("--allow-training", action="store_true",
                        help="train a run the profile ships whose files are missing (the notebooks' allow_training; "
                             "without it they stop and name what is missing, how to restore it and how long "
                             "training would take)")


def run(args: argparse.Namespace) -> int:
    """Fetch the data, compute the flows, train on GPUs when asked and run the notebooks; 1 with one line on
    stderr when a notebook fails or data is missing."""
    from starlib.data.fetch import DataMissing

    try:
        fetch_data()
        if args.flow_workers >= 0 and not args.notebooks:     # the whole study; a selection computes its own
            prepare(args.profile, args.flow_workers)
        if args.gpus > 1:
            train_all(args.profile, args.gpus)
        run_notebooks(args.profile, args.notebooks, args.out,
                      extra_parameters={"allow_training": True} if args.allow_training else None)
    except (NotebookFailed, DataMissing, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"tables: {REPO_ROOT / 'results'}\nfigures: {REPO_ROOT / 'figures'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m starlib.study.pipeline``: an alias of ``python -m starlib reproduce`` (same options)."""
    return alias_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
