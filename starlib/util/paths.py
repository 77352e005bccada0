"""Where things live. Every default path of the project is resolved against the repository, never against
the working directory, so a notebook or command run from any folder reads and writes the same places."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def runs_root(profile: str) -> Path:
    """Training runs of a profile (git-ignored): ``runs/<profile>/<run name>/``."""
    return REPO_ROOT / "runs" / profile


def cache_root() -> Path:
    """Flows and per-item scores (git-ignored): ``cache/flows/``, ``cache/scores/``."""
    return REPO_ROOT / "cache"
