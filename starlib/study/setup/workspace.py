"""Where one profile's study reads and writes, resolved once: what every table, figure and notebook is given.

Every default is resolved against the repository (:mod:`starlib.util.paths`), never the working directory:

    runs/<profile>/       training runs (git-ignored)
    cache/flows/          optical flows;   cache/scores/   per-item scores (git-ignored)
    results/<profile>/    tables (CSV, Markdown, LaTeX)
    figures/<profile>/    figures
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from starlib.evaluation.score_cache import ScoreCache
from starlib.flow import FlowCache
from starlib.models.checkpoint import MAX_PARAMETERS
from starlib.study.setup.profile import Profile, load_profile
from starlib.study.setup.shipped_scores import SeedCheck
from starlib.util import env
from starlib.util.hardware import resolve_device
from starlib.util.paths import CACHE_DIR, REPO_ROOT, RUNS_DIR, SHIPPED_RUNS_DIR, SHIPPED_SCORES
from starlib.util.provenance import provenance


def _folder(given: str | Path | None, default: Path) -> Path:
    """A notebook parameter ('' = the default), relative paths taken from the repository root."""
    if not given:
        return default
    path = Path(given).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


@dataclass(frozen=True)
class Workspace:
    profile: Profile
    runs: Path          # the profile's runs
    cache: Path         # holds flows/ and scores/
    results: Path       # the profile's results folder
    figures: Path       # the profile's figures folder
    seed: int | None = None     # training seed (None: the profile's [train] seed)
    progress: bool = True
    device: torch.device = torch.device("cpu")   # where training, scoring and figures run (resolved once)
    allow_training: bool = False  # train a run the profile ships whose files are missing (else refused, saying
                                  # what and how long: starlib.study.trainings.shipped_runs); other runs train either way
    shipped_scores: bool = True   # seed the score cache from the shipped scores ($STARLIB_SHIPPED_SCORES, read
                                  # by create)
    max_parameters: int = MAX_PARAMETERS  # the size bound of checkpoints it loads ($STARLIB_MAX_PARAMETERS, read
                                          # by create)

    @classmethod
    def create(cls, profile: str | Profile, results_dir: str | Path | None = None,
               figures_dir: str | Path | None = None, runs_dir: str | Path | None = None,
               cache_dir: str | Path | None = None, seed: int | None = None, progress: bool = True,
               device: str | None = None, allow_training: bool = False, shipped_scores: bool | None = None,
               max_parameters: int | None = None) -> Workspace:
        """``results_dir`` / ``figures_dir`` / ``runs_dir`` are parents of the per-profile folders (as the
        notebooks' parameters); ``cache_dir`` holds ``flows/`` and ``scores/``. Empty or None: the repository's.
        ``device``: auto, cpu, cuda or cuda:N (empty or None: the profile's ``device``, by default auto).
        ``seed``: the training seed; None or negative: the profile's. ``allow_training``: see the field.
        ``shipped_scores`` and ``max_parameters`` (the network size bound, also of a profile loaded by name):
        None reads ``$STARLIB_SHIPPED_SCORES`` / ``$STARLIB_MAX_PARAMETERS`` here, the edge where notebooks and
        commands start (:mod:`starlib.util.env`); a value given is used whatever the environment holds."""
        if shipped_scores is None:
            shipped_scores = env.shipped_scores_enabled()
        if max_parameters is None:
            max_parameters = env.max_parameters(MAX_PARAMETERS)
        prof = profile if isinstance(profile, Profile) else load_profile(profile, max_parameters)
        name = prof.name
        return cls(prof,
                   runs=_folder(runs_dir, RUNS_DIR) / name,
                   cache=_folder(cache_dir, CACHE_DIR),
                   results=_folder(results_dir, REPO_ROOT / "results") / name,
                   figures=_folder(figures_dir, REPO_ROOT / "figures") / name,
                   seed=seed if seed is not None and seed >= 0 else None, progress=progress,
                   device=resolve_device(device or prof.device), allow_training=bool(allow_training),
                   shipped_scores=bool(shipped_scores), max_parameters=max_parameters)

    @cached_property
    def flows(self) -> FlowCache:
        """The flow cache, with the profile's backend."""
        return FlowCache(self.cache / "flows", self.profile.flow.backend)

    @cached_property
    def scores(self) -> ScoreCache:
        """The score cache, seeded from the scores shipped in git for runs whose weights are the shipped ones
        (:mod:`starlib.study.setup.shipped_scores`), unless ``shipped_scores`` is off (``STARLIB_SHIPPED_SCORES=0``)."""
        if not self.shipped_scores:
            return ScoreCache(self.cache / "scores")
        shipped = SHIPPED_RUNS_DIR / self.profile.name / SHIPPED_SCORES
        return ScoreCache(self.cache / "scores", shipped=shipped, may_seed=SeedCheck(shipped, self.runs))

    @property
    def train_seed(self) -> int:
        """The seed the workspace's runs train with: its own, else the profile's ``[train] seed``."""
        if self.seed is not None:
            return self.seed
        return self.profile.train.objectives["STAR"].seed

    def provenance(self, data: str, n_items: int, wall_time_s: float) -> dict:
        """Provenance fields of a results row written from this workspace (profile, training seed, device)."""
        return provenance(self.profile.name, self.train_seed, data, n_items, wall_time_s, device=self.device)

    def results_file(self, name: str) -> Path:
        self.results.mkdir(parents=True, exist_ok=True)
        return self.results / name

    def figure_file(self, name: str) -> Path:
        self.figures.mkdir(parents=True, exist_ok=True)
        return self.figures / name
