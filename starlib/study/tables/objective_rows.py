"""One objective trained and scored next to bicubic + frame averaging: what notebook 02 shows per objective.

The model is trained (or an identical finished run reused) on the profile's training data and scored on the
profile's test sets next to bicubic upscaling + frame averaging on the same items (paired per-item
differences with 95% intervals, :func:`starlib.study.tables.entries.table_rows`); the paper's value is shown where
it reports this model on one of our test sets.
"""

from __future__ import annotations

from starlib.infer.runner import StageOneOutputs
from starlib.paper.objectives import objective as objective_record
from starlib.study.tables.entries import Entry, trained_entry
from starlib.study.tables.floors import floor_entry
from starlib.study.trainings.catalog import OBJECTIVE_ROWS, table_catalog
from starlib.study.trainings.recipes import hr_input_benchmarks, test_benchmarks
from starlib.study.setup.workspace import Workspace

#: objective -> output -> (paper table, paper row): where the paper reports this model on our test sets.
PAPER_ROWS: dict[str, dict[str, tuple[int, str]]] = {
    "STAR-ST": {"sr_t": (8, "STAR-ST"), "sr_mid": (7, "STAR-ST-L_r")},
    "STAR-S": {"sr_t": (8, "STAR-S")},
    "STAR-T_HR": {"hr_mid": (9, "STAR-T_HR")},
}


#: Objectives whose stage-1 outputs notebook 02 scores too (the LR-input networks the ST-SR claims rest on).
STAGE1_SCORED = ("STAR", "STAR-ST")


def stage1_label(objective: str) -> str:
    return f"{objective} (stage 1)"


def result_name(objective: str) -> str:
    """File stem of an objective's results: ``STAR-T_HR`` -> ``star_t_hr`` (``star_t_hr.csv``, ...)."""
    return objective_record(objective).name.lower().replace("-", "_")


def objective_entries(ws: Workspace, objective: str, niqe: bool = True) -> list[Entry]:
    """``[ours, baseline]``: the trained objective and bicubic + averaging on the same items and outputs (the
    objective's scored outputs; HR-input objectives on ``[eval] hr_input_benchmarks``), and for
    :data:`STAGE1_SCORED` a third entry: the same network's stage-1 outputs (:class:`StageOneOutputs`)."""
    what = table_catalog(ws, OBJECTIVE_ROWS)[objective_record(objective).name].training
    record = what.record
    bench = hr_input_benchmarks(ws.profile) if record.inputs == "hr" else test_benchmarks(ws.profile)
    ours = trained_entry(ws, objective, what, bench, record.scored, niqe=niqe,
                         paper_rows=PAPER_ROWS.get(objective, {}))
    base = floor_entry(ws, bench, record.scored, niqe=niqe, note="")
    entries = [ours, base]
    if objective in STAGE1_SCORED and ours.run.model.cfg.stage2:
        entries.append(trained_entry(ws, stage1_label(objective), what, bench, record.scored,
                                     wrap=StageOneOutputs,
                                     note="the same network's stage-1 outputs (before stage 2 refines them)"))
    return entries
