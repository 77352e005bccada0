"""The non-learned floor every learned row is measured against: bicubic upscaling (S-SR), frame averaging
(T-SR) and both (ST-SR), on the same items. A claim about a component is testable at a profile only when the
model carrying the component beats this floor (:mod:`starlib.study.tables.claims`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlib.data.sources import Window
from starlib.evaluation.baselines import bicubic_and_average
from starlib.study.trainings.catalog import FLOOR
from starlib.study.tables.entries import Entry, method_entry
from starlib.study.setup.workspace import Workspace

FLOOR_NOTE = "ours only: the non-learned floor"


def floor_key(ws: Workspace) -> str:
    """The score-cache key of the floor (shared by every table and notebook)."""
    return f"bicubic_average-s{ws.profile.scale}"


def floor_entry(ws: Workspace, benchmarks: Mapping[str, Sequence[Window]], outputs: Sequence[str], *,
                niqe: bool = False, label: str = FLOOR, paper_method: str | None = None,
                note: str = FLOOR_NOTE) -> Entry:
    """The floor as a table row on ``benchmarks`` and ``outputs``."""
    return method_entry(ws, label, bicubic_and_average, floor_key(ws), benchmarks, outputs, niqe=niqe,
                        paper_method=paper_method, note=note)
