"""No silent training of a run the study ships: when a shipped run's files are missing, say what and refuse.

A profile that ships runs in git (``checkpoints/<profile>/<run>/``: the cpu profile) installs them instead of
training them (:func:`starlib.study.trainings.training_runs.install_shipped`). When a shipped ``model.pt`` is gone (deleted, a
sparse checkout), the notebook would otherwise start hours of training without a word; instead
:class:`TrainingNotAllowed` names the missing file, the ``git checkout`` that restores it, every run that would be
trained and the time it is expected to take (from the shipped logs), unless training was allowed: the notebooks'
``allow_training`` parameter, ``make reproduce ALLOW_TRAINING=1``, ``--allow-training`` of the pipeline (and
``python -m starlib train``, which is a request to train). A profile without shipped runs (smoke, gpu, paper)
trains as before.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

from starlib.study.setup.shipped_scores import read_manifest, runs_in_key
from starlib.util.paths import REPO_ROOT, SHIPPED_RUNS_DIR, SHIPPED_SCORES


class TrainingNotAllowed(RuntimeError):
    """A run the study ships is missing and would be trained; the message names the file, the fix and the cost."""


def shipped_run_names(profile: str, root: Path = SHIPPED_RUNS_DIR) -> set[str]:
    """The runs ``profile`` ships: the run folders under ``root/<profile>/`` (a folder whose ``model.pt`` is gone
    still has its ``config.json``) and every run the shipped scores' manifest names."""
    folder = Path(root) / profile
    if not folder.is_dir():
        return set()
    names = {p.name for p in folder.iterdir() if p.is_dir() and p.name != SHIPPED_SCORES}
    manifest = read_manifest(folder / SHIPPED_SCORES)
    return names.union(*map(set, manifest.values()), *(runs_in_key(Path(key).stem) for key in manifest))


def expected_seconds(profile: str, name: str, steps: int, root: Path = SHIPPED_RUNS_DIR) -> float | None:
    """Seconds ``steps`` steps of run ``name`` are expected to take: its shipped ``log.csv``'s median
    ``seconds_per_step`` times ``steps`` (None without a shipped log)."""
    log = Path(root) / profile / name / "log.csv"
    try:
        with log.open(newline="") as f:
            per_step = [float(row["seconds_per_step"]) for row in csv.DictReader(f) if row.get("seconds_per_step")]
    except (OSError, ValueError, KeyError):
        return None
    return statistics.median(per_step) * steps if per_step else None


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def refusal(profile: str, missing: list[str], todo: list[tuple[str, int]],
            root: Path = SHIPPED_RUNS_DIR) -> TrainingNotAllowed:
    """The error for shipped runs ``missing`` (names) when the runs ``todo`` ((name, steps), upstream first)
    would be trained."""
    files = [_shown(Path(root) / profile / name / "model.pt") for name in missing]
    folders = " ".join(_shown(Path(root) / profile / name) for name in missing)
    times = [expected_seconds(profile, name, steps, root) for name, steps in todo]
    known = sum(t for t in times if t is not None)
    runs = ", ".join(f"{name} ({steps} steps, " + (f"~{t / 60:.0f} min" if t is not None else "time unknown") + ")"
                     for (name, steps), t in zip(todo, times))
    total = (f"about {known / 3600:.1f} h" if known >= 3600 else f"about {known / 60:.0f} min") + (
        " plus the runs without a shipped log" if None in times else "")
    return TrainingNotAllowed(
        f"shipped run file {', '.join(files)} is missing, so {len(todo)} run(s) would be trained: {runs}; "
        f"{total} at the speed of the shipped logs. Restore it with `git checkout -- {folders}`, or allow the "
        f"training: notebook parameter allow_training=True, `make reproduce ALLOW_TRAINING=1` or "
        f"`python -m starlib reproduce --allow-training`")
