"""Every training run the study's notebooks need, in the order to train them (upstream stages first): what
``python -m starlib train --all`` trains, under ``torchrun`` for several GPUs, before the notebooks score."""

from __future__ import annotations

from starlib.study.trainings.catalog import study_catalog, trainings
from starlib.study.trainings.plans import Plan, plan
from starlib.study.trainings.recipes import Training
from starlib.study.setup.workspace import Workspace


def study_trainings(ws: Workspace) -> list[Training]:
    """The networks the notebooks score: every row of the catalog (notebook 02's objectives, Tables 1-10; the
    ZSM table and notebook 13 reuse those of Tables 7-10), each once."""
    return trainings(study_catalog(ws))


def study_plans(ws: Workspace) -> list[Plan]:
    """The plan of every run of the study, stages included, each once (by run name), upstream first."""
    seen: dict[str, Plan] = {}
    for what in study_trainings(ws):
        for step in plan(ws, what).chain:
            seen.setdefault(step.name, step)
    return list(seen.values())


def study_runs(ws: Workspace) -> list[tuple[str, Training]]:
    """``(run name, what)`` of every run of the study, stages included, each once, upstream first."""
    return [(p.name, p.what) for p in study_plans(ws)]
