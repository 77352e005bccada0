"""Provenance of results: which code, profile, seed and data produced a number, and atomic CSV writes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from starlib.util import env
from starlib.util.atomic import atomic_write_text
from starlib.util.paths import REPO_ROOT

#: One cell of a results row: text, a number, or empty.
Cell = str | int | float | None


#: Columns every results CSV carries, in this order, after its own columns.
PROVENANCE_COLUMNS = ("profile", "seed", "git_commit", "data", "n_items", "wall_time_s", "created_utc",
                      "torch_version", "device")


#: Folders of the study's outputs: regenerating them does not make the code that produced them "dirty".
OUTPUT_DIRS = ("results", "figures")


def git_commit(repo: Path = REPO_ROOT) -> str:
    """Short commit hash of ``repo``, suffixed ``-dirty`` when tracked files other than the study's outputs
    (``results/``, ``figures/``: what a run regenerates) differ from HEAD; ``unknown`` outside git. A notebook
    that differs only in what the repository does not commit (outputs, execution counts, volatile metadata:
    a JupyterLab session saved them) counts as unchanged (:func:`starlib.util.notebooks.same_when_clean`).
    ``$STARLIB_GIT_COMMIT``, when set, wins: for a copy of the working tree run on another machine, whose
    ``.git`` (if any) need not match the code it holds."""
    given = env.setting(env.GIT_COMMIT)
    if given:
        return given

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout

    try:
        sha = git("rev-parse", "--short=12", "HEAD").strip()
        changed = git("diff", "--name-only", "-z", "HEAD", "--", ".",
                      *(f":(exclude){d}" for d in OUTPUT_DIRS)).split("\0")
        top = Path(git("rev-parse", "--show-toplevel").strip())
        dirty = [name for name in changed if name and not _only_outputs_changed(top, name, git)]
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _only_outputs_changed(top: Path, name: str, git: Callable[..., str]) -> bool:
    """Whether tracked file ``name`` is a notebook that commits the same as HEAD's (see :func:`git_commit`)."""
    from starlib.util.notebooks import same_when_clean

    path = top / name
    if not name.endswith(".ipynb") or not path.is_file():
        return False
    try:
        committed = git("show", f"HEAD:{name}")
    except subprocess.CalledProcessError:          # new in the index, not in HEAD: a real change
        return False
    return same_when_clean(path.read_text(encoding="utf-8", errors="replace"), committed)


def provenance(profile: str, seed: int, data: str, n_items: int, wall_time_s: float,
               device: str = "cpu") -> dict[str, Cell]:
    """One row's provenance fields (see :data:`PROVENANCE_COLUMNS`); ``data`` names the data set(s) used,
    ``n_items`` how many items the row's numbers rest on, ``device`` where it ran (recorded with the GPU's name)."""
    import torch  # local imports: keep `import starlib.util.provenance` (git_commit) free of torch

    from starlib.util.hardware import describe_device

    return {
        "profile": profile,
        "seed": seed,
        "git_commit": git_commit(),
        "data": data,
        "n_items": int(n_items),
        "wall_time_s": round(float(wall_time_s), 3),
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "torch_version": torch.__version__,
        "device": describe_device(device),
    }


def write_results_csv(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike,
                      prov: Mapping[str, Cell]) -> pd.DataFrame:
    """Write ``rows`` with the provenance columns appended to every row, atomically.

    Raises ValueError when a row already has a provenance column with another value.
    """
    records = []
    for row in rows:
        clash = {k for k in prov if k in row and row[k] != prov[k]}
        if clash:
            raise ValueError(f"row {dict(row)} sets provenance columns {sorted(clash)} differently")
        records.append({**row, **prov})
    frame = pd.DataFrame.from_records(records)
    atomic_write_text(path, frame.to_csv(index=False))
    return frame
