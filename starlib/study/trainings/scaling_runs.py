"""The runs of the scaling study (issue 25, :mod:`starlib.study.tables.scaling` scores them): a budget multiplier k
scales every step count of the chains a claim group needs, so each budget is a profile of its own whose runs
are ordinary runs of the profile's runs folder (named by their configs, resumable, reused); k = 1 is the
profile itself. Here: the scaled profiles and workspaces, the rows each group needs (from the catalog), their
runs, and the records and compute of those runs."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from starlib.models.flops import count_train_flops
from starlib.study.trainings.catalog import T7, table_catalog
from starlib.study.trainings.plans import plan, run_configs
from starlib.study.setup.profile import Profile, ScalingSettings
from starlib.study.trainings.recipes import Training
from starlib.study.setup.workspace import Workspace
from starlib.train import TrainConfig
from starlib.train.run_folder import RunFolder
from starlib.util.atomic import atomic_write_text
from starlib.util.config import ConfigError, TomlValue
from starlib.util.paths import SHIPPED_RUNS_DIR

GROUPS = ScalingSettings.GROUPS
#: Rows of the restricted tables (the floor is always there; :mod:`starlib.study.tables.scaling` scores them).
T7_ROWS = (T7.DBPN_FI, T7.RBPN_FI, T7.STAR, T7.STAR_ST)
T2_ROWS = ("STAR", "STAR-ST")
GROUP_TABLES = {"central": (7, 2), "ablations": (1, 4, 6)}


def group_kind(group: str) -> str:
    """The claims and tables of a group: ``video`` is the central group trained with more real video,
    ``replicates`` the central group trained with other seeds."""
    if group not in GROUPS:
        raise ConfigError(f"unknown scaling group {group!r}; choose one of {list(GROUPS)}")
    return "central" if group in ("video", "replicates") else group


def budget_label(k: float) -> str:
    """The folder name of budget ``k``: ``k0.25``, ``k1``, ``k8``."""
    return f"k{k:g}"


def scale_steps(steps: int, k: float) -> int:
    """``steps`` x ``k``, halves rounded up, at least 1."""
    return max(1, math.floor(steps * k + 0.5))


def scaled_profile(profile: Profile, k: float) -> Profile:
    """``profile`` with every step count (and the validation interval) times ``k``; ``k = 1`` returns the
    profile itself. A profile that loads a stage from a file (``[stages] net_s_file``, ``fr_file``) is refused:
    that stage would not scale with the rest."""
    if not k > 0:
        raise ConfigError(f"budget multiplier k = {k}: must be > 0")
    if k == 1:
        return profile
    stages = profile.stages
    loaded = [key for key in ("net_s_file", "fr_file") if getattr(stages, key)]
    if loaded:
        raise ConfigError(f"{profile.path or profile.name}: [stages] {', '.join(loaded)} loads a stage from a file, "
                          f"which a budget multiplier cannot scale; remove it to study claims against compute")
    train = profile.train

    def scaled(table: dict[str, TomlValue], default: int | None) -> dict[str, TomlValue]:
        steps = table.get("steps", default)
        return table if steps is None else {**table, "steps": scale_steps(int(steps), k)}

    train = dataclasses.replace(train, base=scaled(train.base, TrainConfig.steps), finetune=scaled(train.finetune, None),
                                per_objective={o: scaled(t, None) for o, t in train.per_objective.items()})
    stages = dataclasses.replace(stages, **{key: scale_steps(getattr(stages, key), k) if getattr(stages, key) else 0
                                            for key in ("net_s_steps", "fr_steps", "core_steps")})
    validation = profile.validation
    if validation.every:
        validation = dataclasses.replace(validation, every=scale_steps(validation.every, k))
    note = f" (scaled: k = {k:g} x every step count)"
    return dataclasses.replace(profile, description=profile.description + note, train=train, stages=stages,
                               validation=validation)


def budget_points(profile: Profile, group: str, budgets: Sequence[float] | None = None,
                  seeds: Sequence[int] | None = None) -> list[tuple[float, int | None]]:
    """``(k, seed)`` of each point of a group, smallest k first: the ``replicates`` group has one per budget and
    seed, every other group one per budget (seed None: the workspace's). ``budgets``, ``seeds``: these instead of
    the profile's ``[scaling]`` lists (``seeds`` only for the replicates)."""
    budgets = sorted(budgets) if budgets is not None else profile.scaling.budgets(group)
    if group != "replicates":
        if seeds is not None:
            raise ConfigError(f"training seeds are for the replicates group (the central group with other seeds), "
                              f"not {group}")
        return [(k, None) for k in budgets]
    seeds = list(seeds) if seeds is not None else profile.scaling.replicate_seeds
    if not seeds:
        raise ConfigError(f"{profile.path or profile.name}: [scaling] replicate_seeds is empty; name the seeds, "
                          f"e.g. 124 125")
    return [(k, seed) for k in budgets for seed in seeds]


def budget_workspace(ws: Workspace, k: float, group: str = "central", seed: int | None = None) -> Workspace:
    """The workspace of budget ``k``: the scaled profile, the same runs and caches, results in
    ``<results>/scaling/k<k>/``. The ``video`` group trains with ``[scaling] video_clips`` added to the
    training data (``[data] packaged_video``: other run names), results in ``scaling/video-k<k>/``; the
    ``replicates`` group trains with training seed ``seed`` (other run names), results in
    ``scaling/replicates-k<k>-seed<seed>/``."""
    group_kind(group)                                       # a known group
    profile = scaled_profile(ws.profile, k)
    folder = budget_label(k)
    if (seed is not None) != (group == "replicates"):
        raise ConfigError(f"scaling group {group!r}: " + ("a replicate needs its training seed" if seed is None
                          else f"seed {seed} is for the replicates group only"))
    if group == "video":
        clips = ws.profile.scaling.video_clips
        profile = dataclasses.replace(profile, data=dataclasses.replace(profile.data, packaged_video=clips))
        folder = f"{group}-{folder}"
    if group == "replicates":
        if seed == ws.train_seed:
            raise ConfigError(f"{ws.profile.path or ws.profile.name}: replicate seed {seed} is the training seed of "
                              f"the central group itself; [scaling] replicate_seeds lists other seeds")
        ws = dataclasses.replace(ws, seed=seed)
        folder = f"{group}-{folder}-seed{seed}"
    return dataclasses.replace(ws, profile=profile, results=ws.results / "scaling" / folder)


def row_trainings(ws: Workspace, group: str) -> dict[tuple[int, str], list[Training]]:
    """``(table, row label) -> the trainings behind that row`` (the floor has none) for a group's tables: the
    catalog's rows (:mod:`starlib.study.trainings.catalog`) of the restricted tables."""
    if group_kind(group) == "central":
        rows = [*table_catalog(ws, 7, T7_ROWS).values(), *table_catalog(ws, 2, T2_ROWS).values()]
    else:
        rows = [row for table in GROUP_TABLES["ablations"] for row in table_catalog(ws, table).values()]
    return {(int(row.table), row.label): list(row.trainings) for row in rows}


def budget_runs(ws: Workspace, group: str) -> list[tuple[str, Training]]:
    """``(run name, what)`` of every run a group needs under ``ws``'s profile, upstream stages first, once."""
    seen: dict[str, Training] = {}
    for whats in row_trainings(ws, group).values():
        for what in whats:
            for step in plan(ws, what).chain:
                seen.setdefault(step.name, step.what)
    return list(seen.items())


def scaling_runs(ws: Workspace) -> list[tuple[str, Workspace, Training]]:
    """Every run of the profile's ``[scaling]`` budgets (both groups), each once with the workspace it trains
    under; k = 1 gives the study's own runs."""
    seen: dict[str, tuple[Workspace, Training]] = {}
    for group in GROUPS:
        for k, seed in budget_points(ws.profile, group):
            bws = budget_workspace(ws, k, group, seed)
            for name, what in budget_runs(bws, group):
                seen.setdefault(name, (bws, what))
    return [(name, bws, what) for name, (bws, what) in seen.items()]


def _run_folders(ws: Workspace, name: str) -> tuple[RunFolder, RunFolder]:
    """Where run ``name`` can be: the runs folder, then the shipped runs."""
    return RunFolder(ws.runs / name), RunFolder(SHIPPED_RUNS_DIR / ws.profile.name / name)


def _finished(ws: Workspace, name: str) -> bool:
    return any(folder.is_finished() for folder in _run_folders(ws, name))


def missing_runs(ws: Workspace, group: str) -> list[str]:
    """Runs of the group at ``ws``'s budget that are neither finished in the runs folder nor shipped. A shipped
    run stands for its parents (train_run installs it without them)."""
    missing, covered = [], set()
    for whats in row_trainings(ws, group).values():
        for what in whats:
            planned = plan(ws, what)
            if _finished(ws, planned.name):
                covered.update(p.name for p in planned.chain)
    for name, _ in budget_runs(ws, group):
        if name not in covered and not _finished(ws, name):
            missing.append(name)
    return missing


#: A run's files kept beside a scored budget (:func:`keep_run_records`): enough for its hours and validation curve.
RUN_RECORD_FILES = ("config.json", "log.csv", "val.csv")


def run_records_dir(bws: Workspace) -> Path:
    """Where a budget keeps its runs' records: ``<budget results>/runs/<run name>/`` (committed with the budget,
    so notebook 15 draws the curve on a machine that does not hold the runs)."""
    return bws.results / "runs"


def run_file(ws: Workspace, name: str, file: str) -> Path | None:
    """Run ``name``'s ``file`` (``log.csv``, ``val.csv``, ...): in the runs folder, the shipped runs or the
    budget's kept records, the first that holds it; None when none does."""
    for folder in (*(f.path for f in _run_folders(ws, name)), run_records_dir(ws) / name):
        if (folder / file).is_file():
            return folder / file
    return None


def keep_run_records(bws: Workspace, group: str) -> list[str]:
    """Copy each trained run's :data:`RUN_RECORD_FILES` of the group (from the runs folder; shipped runs are
    committed already) into :func:`run_records_dir`; the run names copied."""
    kept = []
    for name, _ in budget_runs(bws, group):
        source = bws.runs / name
        if not RunFolder(source).is_finished():
            continue
        target = run_records_dir(bws) / name
        target.mkdir(parents=True, exist_ok=True)
        for file in RUN_RECORD_FILES:
            if (source / file).is_file():
                atomic_write_text(target / file, (source / file).read_text())
        kept.append(name)
    return kept


def run_hours(ws: Workspace, name: str, steps: int) -> float:
    """Training hours of a run from its ``log.csv`` (mean seconds per logged step x steps); NaN without a log."""
    path = run_file(ws, name, "log.csv")
    if path is None:
        return float("nan")
    log = pd.read_csv(path)
    if log.empty or "seconds_per_step" not in log.columns:
        return float("nan")
    return float(log["seconds_per_step"].mean()) * steps / 3600


def step_flops(ws: Workspace, what: Training) -> int:
    """FLOPs of one training step of ``what`` (forward+backward of a batch at the run's crop,
    :func:`starlib.models.flops.count_train_flops`), kept in ``<cache>/flops.json`` (counting takes seconds)."""
    mcfg, tcfg = run_configs(ws, what)
    patch = tcfg.patch or ws.profile.validation.crop or 64      # full frames: counted at a 64-px crop
    key = json.dumps({"model": mcfg.to_dict(), "patch": patch, "batch": tcfg.batch_size}, sort_keys=True)
    path = ws.cache / "flops.json"
    known = json.loads(path.read_text()) if path.is_file() else {}
    if key not in known:
        known[key] = count_train_flops(mcfg, (patch, patch), tcfg.batch_size)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(known, indent=1, sort_keys=True))
    return int(known[key])


def run_compute(ws: Workspace, group: str) -> pd.DataFrame:
    """One row per run of the group at ``ws``'s budget: steps, training FLOPs (:func:`step_flops` x steps) and
    hours from its log."""
    rows = []
    for name, what in budget_runs(ws, group):
        steps = run_configs(ws, what)[1].steps
        rows.append({"run": name, "objective": what.objective, "steps": steps,
                     "flops": step_flops(ws, what) * steps, "hours": run_hours(ws, name, steps)})
    return pd.DataFrame(rows)


