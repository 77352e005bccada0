"""Finished runs shipped in git, so that notebook 13 and ``enhance`` work on a fresh clone without training.

``python -m starlib ship --profile cpu`` copies the runs notebook 13 compares (those of Tables 7-10,
:func:`starlib.study.trainings.catalog.comparison_trainings`) from ``runs/<profile>/`` to
``checkpoints/<profile>/<run>/`` (the files of :data:`starlib.study.trainings.training_runs.SHIPPED_FILES`), removes the shipped
runs that are not among them (older runs of those tables, or runs shipped by hand), refreshes the demo checkpoints of ``enhance`` (byte copies of the STAR-ST and
STAR-T_HR runs, so git stores each blob once) and writes the model card from the files themselves. A notebook
that needs a shipped run installs it (:func:`starlib.study.trainings.training_runs.install_shipped`) instead of training it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from starlib.evaluation.score_file import read_scores
from starlib.models import STARConfig
from starlib.models.checkpoint import meta_model, read_checkpoint
from starlib.models.star import count_parameters
from starlib.study.trainings.catalog import comparison_trainings
from starlib.study.trainings.plans import run_name
from starlib.study.trainings.recipes import NET_S_ALONE, Training, net_s_alone
from starlib.study.setup.shipped_scores import MANIFEST, runs_in_key, sha256
from starlib.study.trainings.training_runs import SHIPPED_FILES
from starlib.study.setup.workspace import Workspace
from starlib.util.atomic import atomic_path, atomic_write_text
from starlib.util.damaged import DamagedFileError
from starlib.util.paths import REPO_ROOT, SHIPPED_RUNS_DIR, SHIPPED_SCORES

#: The profile whose STAR-ST and STAR-T_HR runs are ``enhance``'s demo checkpoints.
DEMO_PROFILE = "cpu"
MODEL_CARD = "MODEL_CARD.md"


@dataclass(frozen=True)
class ShippedRun:
    label: str              # what the run is in the study (e.g. "STAR-ST", "RBPN alone")
    name: str               # the run folder name
    objective: str
    parameters: int         # as the tables count them (BatchNorm running statistics excluded)
    steps: int
    train_seconds: float | None
    init_from: str          # the runs it was finetuned or initialised from ("" when trained from scratch)
    git_commit: str
    sha256: str
    size: int               # bytes of model.pt
    final_validation: str   # the last validation row, "output +x.xx dB" over bicubic + averaging
    settings: str           # the network's STARConfig fields that differ from the defaults (the paper's)


def shipped_trainings(ws: Workspace) -> list[tuple[str, str, Training]]:
    """``(label, run name, what)`` of every run notebook 13 compares, each once, in the order of the tables."""
    alone = {run_name(ws, net_s_alone(ws.profile, n)): f"{n} alone" for n in NET_S_ALONE}
    out: dict[str, tuple[str, str, Training]] = {}
    for what in comparison_trainings(ws):
        name = run_name(ws, what)
        label = alone.get(name, what.objective if not what.overrides else f"{what.objective} (Table 7 loss)")
        out.setdefault(name, (label, name, what))
    return list(out.values())


def shipped_score_files(scores: Path, names: set[str]) -> list[Path]:
    """The score-cache files to ship, among those in ``scores``: every key whose runs are all in ``names`` (a
    run's own scores, a cascade built on it) and every key without a run (the floors, flow interpolation: all
    of those in the cache, a few, whether notebook 13 reads them or not)."""
    return [path for path in sorted(scores.glob("*.csv")) if runs_in_key(path.stem) <= names]


def _scores_to_ship(scores: Path, names: set[str]) -> list[Path]:
    """:func:`shipped_score_files`, refused when the cache holds no key of some shipped run (the wrong
    ``--cache-dir``), so a ship from an empty cache cannot wipe the shipped scores."""
    files = shipped_score_files(scores, names)
    covered = set().union(*(runs_in_key(path.stem) for path in files))
    if names - covered:
        raise FileNotFoundError(f"no scores of {', '.join(sorted(names - covered))} in {scores}: ship from the "
                                f"cache that scored them (`python -m starlib ship --cache-dir DIR`), or run "
                                f"notebook 13 first so that {scores} holds them")
    for path in files:
        found = read_scores(path)
        if found.damaged:
            raise DamagedFileError(f"score cache {path} is damaged ({found.dropped} row(s): {found.reason}), so it is "
                             f"not shipped; run notebook 13 again (it rescores those rows and rewrites the "
                             f"file), then ship")
    return files


def _ship_scores(files: list[Path], digests: dict[str, str], root: Path) -> list[Path]:
    """Replace ``root/scores/`` by ``files`` with their manifest (``digests``: the SHA256 of each shipped run's
    ``model.pt``, by run name)."""
    target = root / SHIPPED_SCORES
    target.mkdir(parents=True, exist_ok=True)
    for path in files:
        atomic_write_text(target / path.name, path.read_text())
    keep = {path.name for path in files}
    for stale in target.glob("*.csv"):
        if stale.name not in keep:
            stale.unlink()
    manifest = {path.name: {run: digests[run] for run in sorted(runs_in_key(path.stem))} for path in files}
    atomic_write_text(target / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return [target / path.name for path in files]


def _recover(target: Path) -> None:
    """Undo what an interrupted :func:`_copy_run` left: a half-built copy is dropped, and an older copy moved
    aside but not yet replaced is put back."""
    old = target.with_name(f".{target.name}.old")
    for tmp in target.parent.glob(f".{target.name}.*"):
        if tmp != old:
            shutil.rmtree(tmp, ignore_errors=True)
    if old.exists():
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, target)


def _copy_run(source: Path, target: Path) -> None:
    """Copy a run's shipped files into ``target``, replacing an older copy: the new folder is built beside it,
    the old one is moved aside and the new one renamed into place. A kill between those two renames leaves the
    old copy at ``.<name>.old``, which the next ship puts back (:func:`_recover`) before it copies again."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _recover(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    old = target.with_name(f".{target.name}.old")
    try:
        for file in SHIPPED_FILES:
            if (source / file).is_file():
                shutil.copyfile(source / file, tmp / file)
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not target.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _describe(label: str, run_dir: Path) -> ShippedRun:
    payload = read_checkpoint(run_dir / "model.pt")
    extra = payload["extra"]
    config = json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").is_file() else {}
    train = config.get("train", {})
    final = ""
    if (run_dir / "val.csv").is_file():
        val = pd.read_csv(run_dir / "val.csv")
        if len(val):
            last = val[val["step"] == val["step"].max()]
            final = ", ".join(f"{r.output} {r.psnr - r.baseline_psnr:+.2f} dB" for r in last.itertuples())
    seconds = extra.get("train_seconds")
    defaults = STARConfig().to_dict()
    settings = "  ".join(f"{k}={v}" for k, v in payload["config"].items() if defaults.get(k) != v)
    return ShippedRun(label=label, name=run_dir.name, objective=str(extra.get("objective", train.get("objective", ""))),
                      parameters=count_parameters(meta_model(STARConfig(**payload["config"]))),
                      steps=int(extra.get("steps", train.get("steps", 0))),
                      train_seconds=float(seconds) if seconds is not None else None,
                      init_from=" + ".join(str(train[k]) for k in ("init_from", "init_net_s", "init_flow_net")
                                           if train.get(k)),
                      git_commit=str(config.get("git_commit", extra.get("git_commit", ""))),
                      sha256=sha256(run_dir / "model.pt"), size=(run_dir / "model.pt").stat().st_size,
                      final_validation=final, settings=settings)


def ship(ws: Workspace, dest: Path = SHIPPED_RUNS_DIR, demo: dict[str, Path] | None = None) -> list[ShippedRun]:
    """Ship the finished runs of :func:`shipped_trainings` from the workspace's runs folder into
    ``dest/<profile>/`` and write its model card; at :data:`DEMO_PROFILE` also refresh the demo checkpoints
    (``demo``: objective -> file, by default enhance's ``DEMO_ST`` and ``DEMO_T_HR``), and ship the runs'
    per-item scores from the workspace's score cache (``scores/`` with its manifest). Every run must be finished
    and scored first: nothing is copied when one is not."""
    wanted = shipped_trainings(ws)
    missing = [name for _, name, _ in wanted if not (ws.runs / name / "model.pt").is_file()]
    if missing:
        raise FileNotFoundError(f"cannot ship the {ws.profile.name} runs: {', '.join(missing)} not finished in "
                                f"{ws.runs}; train them first with `python -m starlib train --all --profile "
                                f"{ws.profile.name}` (or `make reproduce PROFILE={ws.profile.name}`)")
    names = {name for _, name, _ in wanted}
    files = _scores_to_ship(ws.cache / "scores", names)           # refused before anything is copied
    root = Path(dest) / ws.profile.name
    for _, name, _ in wanted:
        _copy_run(ws.runs / name, root / name)
    for stale in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if stale.name not in names and stale.name != SHIPPED_SCORES:
            shutil.rmtree(stale)
    shipped = [_describe(label, root / name) for label, name, _ in wanted]
    score_files = _ship_scores(files, {run.name: run.sha256 for run in shipped}, root)
    demo_files: dict[str, Path] = {}
    if ws.profile.name == DEMO_PROFILE:
        if demo is None:
            from starlib.infer.enhance import DEMO_ST, DEMO_T_HR
            demo = {"STAR-ST": DEMO_ST, "STAR-T_HR": DEMO_T_HR}
        for run in shipped:
            if run.label in demo:
                target = Path(demo[run.label])
                with atomic_path(target) as tmp:
                    shutil.copyfile(root / run.name / "model.pt", tmp)
                demo_files[run.label] = target
    atomic_write_text(root / MODEL_CARD, model_card(ws.profile.name, shipped, demo_files, root, score_files))
    for folder in {path.parent for path in demo_files.values()}:
        atomic_write_text(folder / MODEL_CARD, demo_card(shipped, demo_files, root))
    return shipped


def demo_card(shipped: list[ShippedRun], demo_files: dict[str, Path], root: Path) -> str:
    """The demo folder's card: which run each demo file copies; the runs' card has the rest."""
    lines = ["# Demo checkpoints of `python -m starlib enhance`", "",
             f"Written by `python -m starlib ship --profile {root.name}`; do not edit by hand. Each file is a byte "
             f"copy of a shipped run's `model.pt`; `{_rel(root / MODEL_CARD)}` describes the runs (training, "
             "parameters, validation scores, format). Small CPU-trained networks, not the paper's models.", "",
             "| file | objective | copy of | SHA256 | bytes |", "| --- | --- | --- | --- | --- |"]
    for label, path in demo_files.items():
        run = next(r for r in shipped if r.label == label)
        lines.append(f"| `{path.name}` | {label} | `{_rel(root / run.name / 'model.pt')}` | `{run.sha256}` | "
                     f"{run.size:,} |")
    lines += ["", "`--mode st` and `--mode s` use the STAR-ST file, `--mode t` and the second pass of `--times 2` the "
              "STAR-T_HR one. Check a copy with `sha256sum`.", ""]
    return "\n".join(lines)


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def model_card(profile: str, shipped: list[ShippedRun], demo_files: dict[str, Path], root: Path,
               score_files: list[Path] = ()) -> str:
    """The model card of the shipped runs, from the files (checkpoint, config.json, val.csv) alone."""
    total = sum(r.size for r in shipped)
    lines = [
        f"# Shipped `{profile}` runs",
        "",
        f"Written by `python -m starlib ship --profile {profile}` from the files below; do not edit by hand.",
        "",
        f"Small STARnets and S-SR networks trained on 2 CPU cores under the `{profile}` profile "
        f"(`starlib/study/profiles/{profile}.toml`) on the embedded training clips. They let notebook 13 and "
        "`python -m starlib enhance` run on a fresh clone without training. They are **not** the paper's "
        "models (111.6 M parameters, trained for days on Vimeo90K on GPUs), and their scores are not comparable "
        "with the paper's. A notebook that needs one of these runs and does not find it in `runs/` installs the "
        "shipped copy instead of training it; the copies are byte-identical to the trained runs, so the "
        "scores are the same as after training.",
        "",
        f"{len(shipped)} runs, {total:,} bytes of weights (fp32) in all.",
        "",
        "| study row | run | objective | parameters | steps | from | training s | commit | model.pt bytes | SHA256 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in shipped:
        secs = f"{r.train_seconds:.0f}" if r.train_seconds is not None else "n/a"
        lines.append(f"| {r.label} | `{r.name}` | {r.objective} | {r.parameters:,} | {r.steps} | "
                     f"{r.init_from or 'scratch'} | {secs} | `{r.git_commit}` | "
                     f"{r.size:,} | `{r.sha256}` |")
    lines += ["", "## Last validation score of each run", "",
              "PSNR gain over bicubic + averaging on the held-out windows of the training clips (`[validation]`, "
              "never a test set), at the run's last validation step, from its `val.csv`:", ""]
    for r in shipped:
        lines.append(f"- {r.label} (`{r.name}`): {r.final_validation or 'no validation (not scored at this scale)'}")
    lines += ["", "## Networks", "",
              "The `STARConfig` fields of each run that differ from the defaults (the authors' settings; "
              "`starlib/models/config.py` says what each does, the README which are small-budget adaptations):",
              ""]
    for r in shipped:
        lines.append(f"- {r.label}: `{r.settings or 'the defaults'}`")
    if demo_files:
        lines += ["", "## Demo checkpoints of `enhance`", ""]
        for label, path in demo_files.items():
            run = next(r for r in shipped if r.label == label)
            lines.append(f"- `{_rel(path)}`: a byte copy of `{run.name}/model.pt` ({label}, SHA256 `{run.sha256}`)")
        lines += ["", "`enhance --mode st` and `--mode s` use the STAR-ST file, `--mode t` and the second pass of "
                  "`--times 2` the STAR-T_HR one."]
    lines += ["", "## Format and scores", "",
              "Each `model.pt` is the `starlib-starnet/1` format: fp32 weights, the `STARConfig`, and the training "
              "record (`extra`: objective, steps, data, training seconds). Load with "
              "`starlib.models.load_checkpoint(path)` (`torch.load(weights_only=True)` inside); check a copy "
              f"with `sha256sum {_rel(root)}/*/model.pt`. `config.json` holds the network and training settings "
              "the run name hashes, `log.csv` the training losses, `val.csv` the validation scores.",
              "",
              f"Test-set scores of every run are in `results/{profile}/` (Tables 7-10: `table7.csv` ... "
              f"`table10.csv`; the objectives: `star_summary.csv`, `star_st_summary.csv`, ...), each row with "
              "its run name and provenance; the README says what they show.", ""]
    if score_files:
        size = sum(path.stat().st_size for path in score_files)
        lines += [f"`{SHIPPED_SCORES}/` holds the study's per-item scores of these runs and of the methods without "
                  f"a run ({len(score_files)} files, {size:,} bytes; the score cache's own format, "
                  "`starlib.evaluation.score_cache`). A fresh clone copies a file into `cache/scores/` the first "
                  "time its key is asked for, while the runs it names have the shipped weights "
                  f"(`{SHIPPED_SCORES}/{MANIFEST}`: their SHA256), so notebook 13 opens without scoring every "
                  "method on every test item again; set `STARLIB_SHIPPED_SCORES=0` (and empty `cache/scores/`) "
                  "to recompute them.", ""]
    return "\n".join(lines)
