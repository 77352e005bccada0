"""Where things live. Every default path of the project is resolved against the repository, never against
the working directory, so a notebook or command run from any folder reads and writes the same places."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def from_repo(path: str) -> str:
    """A path of a profile or a notebook parameter: ``~`` expanded, a relative one taken from the repository
    root; ``""`` (not given) stays ``""``."""
    if not path:
        return path
    given = Path(path).expanduser()
    return str(given if given.is_absolute() else REPO_ROOT / given)


#: Training runs (``runs/<profile>/<run name>/``) and the caches (``cache/flows/``, ``cache/scores/``),
#: git-ignored.
RUNS_DIR = REPO_ROOT / "runs"
CACHE_DIR = REPO_ROOT / "cache"

#: Finished runs shipped in git (``checkpoints/<profile>/<run name>/``: model.pt, config.json, log.csv, val.csv):
#: installed into the runs folder when a notebook needs one that is not there, instead of training it.
SHIPPED_RUNS_DIR = REPO_ROOT / "checkpoints"
#: Beside them, ``checkpoints/<profile>/scores/``: the per-item scores of those runs (and of the methods without
#: a run) from the study's score cache, seeded into ``cache/scores/`` when a key is missing there.
SHIPPED_SCORES = "scores"
