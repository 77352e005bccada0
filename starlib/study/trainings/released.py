"""The authors' released STARnet files as the networks of their objectives (profile ``[released]``).

The rows that score an objective's own network (Tables 2 and 7-10, Table ZSM) ask :func:`released_run` first:
with a file under ``[released]`` for the objective, that file is imported once
(:func:`starlib.models.official.import_official`) into ``runs/<profile>/<objective>-authors-<sha8>/`` and reused
from there, and nothing is trained; without one the objective is trained (or reused) as every other run. Rows
whose networks are trained for another reason (the Net_S-alone cascades, the ablations of Tables 1 and 3-6)
never ask. The network's config is the paper-width one the file's keys give, never the profile's ``[model]``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from starlib.models import load_checkpoint
from starlib.models.checkpoint import CheckpointError
from starlib.models.official import WEIGHTS_LABEL, import_official, objective_from_name
from starlib.study.setup.shipped_scores import sha256
from starlib.study.setup.workspace import Workspace
from starlib.train import RunResult
from starlib.util.atomic import atomic_write_text
from starlib.util.provenance import git_commit

#: The authors' class every objective's released file holds (STARnet: V4 with the FR U-Net).
RELEASED_VARIANT = "V4_REF"


class ReleasedWeightsError(ValueError):
    """A ``[released]`` file that cannot be the objective's network (one line: the file and the fix)."""


@dataclass(frozen=True)
class Released:
    """An objective's network from the authors' file: the run (no training log) and where it came from."""

    run: RunResult
    objective: str
    source_file: str
    source_sha256: str

    @property
    def setup(self) -> str:
        """A table row's ``info_setup``."""
        return (f"{WEIGHTS_LABEL}: {self.source_file} (sha256 {self.source_sha256[:8]}; their {RELEASED_VARIANT} "
                f"network at the paper's widths, not trained here)")

    @property
    def note(self) -> str:
        """A table row's note (it replaces the note about how the row was trained here)."""
        return released_note(self.source_file)

    @property
    def info(self) -> dict[str, str]:
        """A table row's ``info_*`` columns beyond the run's."""
        return {"weights": WEIGHTS_LABEL, "source_file": self.source_file, "source_sha256": self.source_sha256}


def released_note(source_file: str) -> str:
    """The note of a row whose network is the authors' file ``source_file``."""
    return f"{WEIGHTS_LABEL} ({source_file}), not trained here"


@functools.lru_cache(maxsize=None)
def _digest(path: str, size: int, mtime_ns: int) -> str:   # size/mtime key the cache to the file's state
    return sha256(Path(path))


def run_folder_name(objective: str, digest: str) -> str:
    """``<objective>-authors-<first 8 hex digits of the file's SHA256>``."""
    return f"{objective}-authors-{digest[:8]}"


def _import_into(ws: Workspace, source: Path, objective: str, run_dir: Path, digest: str) -> None:
    """Import ``source`` into a folder beside ``run_dir`` and rename it into place: a crash leaves no half run."""
    where = f"{ws.profile.path or ws.profile.name} [released] {objective!r}"
    named = objective_from_name(source.name, RELEASED_VARIANT)
    if named and named != objective:
        raise ReleasedWeightsError(f"{source}: its name says {named}, but {where} names it; move it to the "
                                   f"{named!r} line or give the {objective} file")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.", dir=run_dir.parent))
    try:
        try:
            imported = import_official(source, tmp / "model.pt", objective=objective)
        except (CheckpointError, OSError) as exc:
            raise ReleasedWeightsError(f"{exc} (named by {where})") from exc
        if imported.variant != RELEASED_VARIANT:
            raise ReleasedWeightsError(
                f"{source} holds the authors' {imported.variant} network, not STARnet ({RELEASED_VARIANT}, the one "
                f"every objective's released file holds); {where} needs a FBPNSR_RBPN_V4_REF_*.pth file")
        atomic_write_text(tmp / "config.json", json.dumps(
            {"model": imported.config.to_dict(), "weights": WEIGHTS_LABEL, "objective": objective,
             "source_file": source.name, "source_sha256": digest, "authors_variant": imported.variant,
             "git_commit": git_commit()}, indent=2))
        os.replace(tmp, run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def released_run(ws: Workspace, objective: str) -> Released | None:
    """The objective's network from the profile's ``[released]`` file (imported on first use, then reused), or
    None when the profile names none for ``objective``."""
    file = ws.profile.released.file(objective)
    if not file:
        return None
    source = Path(file)
    try:
        stat = source.stat()
    except OSError as exc:
        raise ReleasedWeightsError(f"{source}: {exc.strerror or exc}; fix [released] {objective!r} in "
                                   f"{ws.profile.path or ws.profile.name}") from exc
    digest = _digest(str(source), stat.st_size, stat.st_mtime_ns)
    run_dir = ws.runs / run_folder_name(objective, digest)
    if not (run_dir / "model.pt").is_file():
        if run_dir.exists():
            raise ReleasedWeightsError(f"{run_dir} exists without model.pt (not an import of ours); remove it and "
                                       f"run again")
        _import_into(ws, source, objective, run_dir, digest)
    model, extra = load_checkpoint(run_dir / "model.pt", max_parameters=ws.max_parameters)
    if extra.get("source_sha256") != digest:
        raise ReleasedWeightsError(f"{run_dir / 'model.pt'} was not imported from {source}; remove {run_dir} and "
                                   f"run again")
    if model.cfg.scale != ws.profile.scale:
        raise ReleasedWeightsError(f"{source} is a {model.cfg.scale}x network but profile {ws.profile.name} scores "
                                   f"{ws.profile.scale}x ([model] scale); use a profile at scale "
                                   f"{model.cfg.scale}")
    run = RunResult(model.to(ws.device), run_dir, [], reused=True, wall_time_s=0.0)
    return Released(run, objective, source.name, digest)


__all__ = ["WEIGHTS_LABEL", "Released", "ReleasedWeightsError", "released_note", "released_run"]
