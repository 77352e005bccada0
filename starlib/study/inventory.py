"""Every training run the study's notebooks need, in the order to train them (upstream stages first): what
``python -m starlib train --all`` trains, under ``torchrun`` for several GPUs, before the notebooks score."""

from __future__ import annotations

from starlib.paper.objectives import OBJECTIVES
from starlib.study.recipes import Training, run_name, stages
from starlib.study.tables_1_6 import (TABLE5_TRAININGS, table1_trainings, table2_trainings, table3_trainings,
                                      table4_trainings, table6_trainings)
from starlib.study.tables_7_10 import comparison_trainings
from starlib.study.workspace import Workspace


def study_trainings(ws: Workspace) -> list[Training]:
    """The networks the notebooks score: notebook 02's objectives, Tables 1-10 (the ZSM table and notebook 13
    reuse those of Tables 7-10)."""
    whats = [Training(o) for o in OBJECTIVES]
    whats += [w for w, _, _ in table1_trainings(ws).values()] + [w for w, _, _ in table2_trainings(ws).values()]
    whats += list(table3_trainings(ws).values())
    whats += [w for w, _ in table4_trainings(ws).values()] + [w for w, _ in table6_trainings(ws).values()]
    whats += list(TABLE5_TRAININGS) + comparison_trainings(ws)   # ZSM: the same
    return whats


def study_runs(ws: Workspace) -> list[tuple[str, Training]]:
    """``(run name, what)`` of every run of the study, stages included, each once, upstream first."""
    seen: dict[str, Training] = {}
    for what in study_trainings(ws):
        for step in stages(ws, what):
            seen.setdefault(run_name(ws, step), step)
    return list(seen.items())
