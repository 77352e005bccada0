"""Per-item scores shipped in git beside the runs (``checkpoints/<profile>/scores/``), and when one may stand in
for a score the local cache lacks.

``python -m starlib ship`` copies the score-cache files of the shipped runs (and of the methods without a run:
the floors, flow interpolation) with a manifest, ``MANIFEST.json``: for each file, the SHA256 of the
``model.pt`` of every run its key names. A fresh clone's score cache copies a missing file from there only when
every such run in its own runs folder has exactly that ``model.pt`` (a run retrained under the same name, on
another device or machine, is scored anew), so a shipped score always belongs to the weights it scores.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from starlib.paper.objectives import OBJECTIVES, PRETRAINING
from starlib.util.damaged import DamagedFileError

MANIFEST = "MANIFEST.json"

#: A run name inside a score-cache key (``STAR-S-85b7e11c86-lr-tile0``, ``DBPN-_flowinterp.-STAR-S-...``):
#: an objective (longest first, so ``STAR-ST`` is not read as ``STAR``) and the 10-digit hash of the run name.
RUN_IN_KEY = re.compile("(?:" + "|".join(sorted(map(re.escape, {*OBJECTIVES, *PRETRAINING}), key=len, reverse=True))
                        + r")-[0-9a-f]{10}")


def runs_in_key(stem: str) -> set[str]:
    """The run names a score-cache key (file stem) refers to; empty for a method without a run."""
    return set(RUN_IN_KEY.findall(stem))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(shipped: Path) -> dict[str, dict[str, str]]:
    """``{file name: {run name: model.pt SHA256}}`` of a shipped scores folder (empty when it has none)."""
    path = Path(shipped) / MANIFEST
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
        if not (isinstance(manifest, dict) and all(isinstance(runs, dict) and all(
                isinstance(d, str) for d in runs.values()) for runs in manifest.values())):
            raise ValueError("not a mapping of score files to their runs' model.pt digests")
    except ValueError as exc:           # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DamagedFileError(f"{path} is damaged ({str(exc)[:120]}); restore it with `git checkout -- {path}` "
                               f"(or write it anew with `python -m starlib ship`)") from exc
    return manifest


class SeedCheck:
    """Callable ``(file name) -> bool``: may the shipped file stand in for the local cache's missing one? Yes for
    a file in the manifest whose runs all have, in ``runs``, the ``model.pt`` the manifest names."""

    def __init__(self, shipped: Path, runs: Path) -> None:
        self.shipped, self.runs = Path(shipped), Path(runs)
        self._manifest: dict[str, dict[str, str]] | None = None
        self._digests: dict[str, str | None] = {}

    def _digest(self, run: str) -> str | None:
        if run not in self._digests:
            model = self.runs / run / "model.pt"
            self._digests[run] = sha256(model) if model.is_file() else None
        return self._digests[run]

    def __call__(self, name: str) -> bool:
        if self._manifest is None:
            self._manifest = read_manifest(self.shipped)
        if name not in self._manifest:
            return False
        return all(self._digest(run) == digest for run, digest in self._manifest[name].items())
