"""Where things live. Every default path of the project is resolved against the repository, never against
the working directory, so a notebook or command run from any folder reads and writes the same places."""

from __future__ import annotations

from pathlib import Path

from starlib.util import env

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The data root's environment variable and its default (git-ignored; filled by ``python -m starlib data fetch``).
DATA_ENV = env.DATA
DEFAULT_DATA_ROOT = REPO_ROOT / "data"


def data_root() -> Path:
    """Where the data sets live: ``$STARLIB_DATA`` (a relative one from the repository root), default
    ``<repo>/data``."""
    given = env.setting(DATA_ENV)
    if not given:
        return DEFAULT_DATA_ROOT
    root = Path(given).expanduser()
    return root if root.is_absolute() else REPO_ROOT / root


def from_repo(path: str) -> str:
    """A path of a profile or a notebook parameter: ``~`` expanded, a relative one taken from the repository
    root, except one under ``data/``, which is taken from the data root (:func:`data_root`, so it follows
    ``$STARLIB_DATA``); ``""`` (not given) stays ``""``."""
    if not path:
        return path
    given = Path(path).expanduser()
    if given.is_absolute():
        return str(given)
    if given.parts and given.parts[0] == DEFAULT_DATA_ROOT.name:
        return str(data_root().joinpath(*given.parts[1:]))
    return str(REPO_ROOT / given)


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
