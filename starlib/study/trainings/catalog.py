"""The study's runs declared once, as data: every row of every table that a trained network stands behind, with
the trainings it needs, under a workspace's profile.

The row labels (:class:`T1` ... :class:`T10`) name the paper's rows (the claims refer to them); a row's
``trainings`` are what the table trains (or reuses) for it, each a :class:`~starlib.study.trainings.recipes.Training`
whose upstream stages :mod:`starlib.study.trainings.plans` adds. The tables score these rows, and the inventory, the
flows, shipping and the scaling study read the same rows instead of asking the tables. Rows without a network
of ours (the floor, flow interpolation, the paper's own numbers, published networks) are not in the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlib.paper.objectives import OBJECTIVES
from starlib.study.trainings.recipes import NET_S_ALONE, Training, loss_overrides, net_s_alone
from starlib.study.setup.profile import Profile
from starlib.study.setup.workspace import Workspace

#: The non-learned floor's row label in every table (:mod:`starlib.study.tables.floors`).
FLOOR = "Bicubic + averaging"
#: Classical flow interpolation's row label (it stands in for the paper's TOFlow / DAIN).
FI = "flow interp."
#: The table key of notebook 02's rows: one per objective, labelled by its name.
OBJECTIVE_ROWS = "objectives"


class T1:
    """Row labels of Table 1 (the claims refer to these)."""
    NO_STAGE2, NO_FLOW, NO_FR, FULL = "STAR w/o Stage 2", "STAR w/o Flow", "STAR w/o FR", "STAR"


class T3:
    LF, LR = "STAR-ST L_f", "STAR-ST L_r"


class T4:
    DBPN, RBPN = "Net_S = DBPN", "Net_S = RBPN"


class T5:
    TWICE_2X, ST_THEN_THR = "(1) STAR-ST -> STAR-ST", "(2) STAR-ST -> STAR-T_HR"


class T6:
    ONLY_ST, HR, LR, FULL = "(1) Only ST-SR", "(2) ST-SR + T-SR S-HR", "(3) ST-SR + T-SR S-LR", "(4) Full"


class T7:
    """Row labels of Table 7 (the claims refer to these)."""
    BICUBIC_AVG = FLOOR
    FI_DBPN, DBPN_FI, MI_FI = f"{FI} -> DBPN", f"DBPN -> {FI}", f"DBPN-MI -> {FI}"
    FI_RBPN, RBPN_FI, RBPN_AVG = f"{FI} -> RBPN", f"RBPN -> {FI}", "RBPN -> averaging"
    STAR, STAR_ST = "STAR", "STAR-ST"


class T8:
    BICUBIC, DBPN, DBPN_MI, RBPN, STAR_ST, STAR_S = "Bicubic", "DBPN", "DBPN-MI", "RBPN", "STAR-ST", "STAR-S"


class T9:
    AVERAGE, FI, STAR, STAR_T_LR, STAR_T_HR = "Frame averaging", FI, "STAR", "STAR-T_LR", "STAR-T_HR"


T10 = T9   # the same rows: frame averaging, flow interpolation, STAR, STAR-T_LR, STAR-T_HR

#: Table 1 rows: label -> (paper row, network variant); the full model is the reference.
TABLE1 = {
    T1.NO_STAGE2: ("STAR w/o Stage 2", {"stage2": False}),
    T1.NO_FLOW: ("STAR w/o Flow", {"use_flow": False, "use_motion": False, "flow_refine": False}),
    T1.NO_FR: ("STAR w/o FR", {"flow_refine": False}),
    T1.FULL: ("STAR", {}),
}
#: Table 2 rows: the objectives, each scored on the outputs it is trained for (labels are objective names).
TABLE2 = ("STAR", "STAR-ST", "STAR-S", "STAR-T_LR")
#: Table 6 rows: label -> (paper row, T-SR paths of Net_ST).
TABLE6 = {
    T6.ONLY_ST: ("Only ST-SR", "none"),
    T6.HR: ("ST-SR+T-SR S-HR", "hr"),
    T6.LR: ("ST-SR+T-SR S-LR", "lr"),
    T6.FULL: ("Full", "both"),
}
#: Table 7's cascades: label -> the Net_S-alone network it is built on.
T7_CASCADES = {T7.FI_DBPN: "DBPN", T7.DBPN_FI: "DBPN", T7.MI_FI: "DBPN-MI", T7.FI_RBPN: "RBPN", T7.RBPN_FI: "RBPN",
               T7.RBPN_AVG: "RBPN"}


@dataclass(frozen=True)
class Row:
    """One row of a table and the trainings behind it (in the order the table trains them)."""

    table: int | str                   # the paper's table number, or :data:`OBJECTIVE_ROWS`
    label: str
    trainings: tuple[Training, ...]
    paper: str = ""                    # the paper's row it is compared with ("": its label)
    note: str = ""                     # what ran where it differs from the paper

    @property
    def training(self) -> Training:
        """The row's one training (rows of one network)."""
        if len(self.trainings) != 1:
            raise ValueError(f"row {self.label!r} of table {self.table} has {len(self.trainings)} trainings")
        return self.trainings[0]


def _t12(ws: Workspace, table: int, label: str, objective: str, variant: Mapping[str, Any], paper: str) -> Row:
    """A Table 1-2 row with the profile's Net_S and loss for these tables (``[tables] t12_net_s``, ``t12_loss``;
    the paper: DBPN and L_f), and the note that says what ran."""
    tables = ws.profile.tables
    overrides, loss = loss_overrides(ws.profile, tables.t12_loss)
    net_s = {"net_s": tables.t12_net_s} if tables.t12_net_s != ws.profile.model.net_s else {}
    note = f"paper: Net_S = DBPN, L_f; here: Net_S = {tables.t12_net_s.upper()}, {loss}"
    return Row(table, label, (Training(objective, {**net_s, **variant}, overrides),), paper, note)


def ablation_objective(profile: Profile) -> str:
    """Objective of the Table 4 and 6 networks: ``[tables] t46_objective`` (the paper's STAR-ST by default;
    the ``cpu`` profile saves four finetunes with STAR)."""
    return profile.tables.t46_objective


def ablation_note(profile: Profile) -> str:
    """The note of a Table 4 or 6 row: which objective trained it, where that is not the paper's."""
    objective = ablation_objective(profile)
    return "" if objective == "STAR-ST" else f"trained with the {objective} objective (paper: STAR-ST)"


def t7_star(ws: Workspace) -> tuple[Training, str]:
    """Table 7's STAR row, with ``[tables] t7_star_loss`` (the paper's "STAR-L_f"), and the loss that runs."""
    overrides, loss = loss_overrides(ws.profile, ws.profile.tables.t7_star_loss)
    return Training("STAR", overrides=overrides), loss


def _objective_rows() -> list[Row]:
    return [Row(OBJECTIVE_ROWS, name, (Training(name),)) for name in OBJECTIVES]


def _tables_1_6(ws: Workspace) -> list[Row]:
    profile = ws.profile
    rows = [_t12(ws, 1, label, "STAR", variant, paper) for label, (paper, variant) in TABLE1.items()]
    rows += [_t12(ws, 2, name, name, {}, OBJECTIVES[name].label) for name in TABLE2]
    lf, loss = loss_overrides(profile, "L_f")
    rows.append(Row(3, T3.LR, (Training("STAR-ST"),), T3.LR))
    if loss == "L_f":               # without VGG19 ImageNet weights the row is reported as not run
        rows.append(Row(3, T3.LF, (Training("STAR-ST", overrides=lf),), T3.LF,
                        "STAR and its STAR-ST finetune both trained with L_f"))
    objective, note = ablation_objective(profile), ablation_note(profile)
    rows += [Row(4, T4.DBPN, (Training(objective, {"net_s": "dbpn"}),), "STAR-ST with DBPN", note),
             Row(4, T4.RBPN, (Training(objective),), "STAR-ST with RBPN", note)]
    rows += [Row(6, label, (Training(objective, {"tsr_paths": paths}),), paper, note)
             for label, (paper, paths) in TABLE6.items()]
    rows += [Row(5, T5.TWICE_2X, (Training("STAR-ST", {"scale": 2}),), "STAR-ST -> STAR-ST"),
             Row(5, T5.ST_THEN_THR, (Training("STAR-ST"), Training("STAR-T_HR")), "STAR-ST -> STAR-T")]
    return rows


def _tables_7_10(ws: Workspace) -> list[Row]:
    alone = {name: net_s_alone(ws.profile, name) for name in NET_S_ALONE}
    star, loss = t7_star(ws)
    rows = [Row(7, label, (alone[ssr],)) for label, ssr in T7_CASCADES.items()]
    rows += [Row(7, T7.STAR, (star,), "STAR-L_f", f"here: {loss}; the paper's STAR row in Table 7 is trained with L_f"),
             Row(7, T7.STAR_ST, (Training("STAR-ST"),), "STAR-ST-L_r")]
    rows += [Row(8, name, (alone[name],), name) for name in NET_S_ALONE]
    rows += [Row(8, label, (Training(label),), label) for label in (T8.STAR_ST, T8.STAR_S)]
    rows += [Row(9, label, (Training(label),), label) for label in (T9.STAR, T9.STAR_T_LR, T9.STAR_T_HR)]
    rows += [Row(10, label, (Training(label),), label) for label in (T10.STAR, T10.STAR_T_HR, T10.STAR_T_LR)]
    return rows


def study_catalog(ws: Workspace) -> list[Row]:
    """Every trained row of the study: notebook 02's objectives, then Tables 1-6 (Table 5 after 6, as the
    notebooks run them), then Tables 7-10 (the ZSM table and notebook 13 reuse their networks)."""
    return _objective_rows() + _tables_1_6(ws) + _tables_7_10(ws)


def table_catalog(ws: Workspace, table: int | str, labels: Sequence[str] | None = None) -> dict[str, Row]:
    """The rows of one table, label -> row, in the table's order (``labels``: only these, in their order)."""
    rows = {r.label: r for r in study_catalog(ws) if r.table == table}
    return rows if labels is None else {label: rows[label] for label in labels}


def trainings(rows: Sequence[Row]) -> list[Training]:
    """The trainings of ``rows``, each once, in order."""
    out: list[Training] = []
    for row in rows:
        out += [t for t in row.trainings if t not in out]
    return out


def comparison_trainings(ws: Workspace) -> list[Training]:
    """Every network Tables 7-10 train (what notebook 13 compares and what is shipped): the Net_S-alone S-SR
    networks, STAR with Table 7's loss, and the objectives as they are."""
    return trainings([r for r in study_catalog(ws) if r.table in (7, 8, 9, 10)])
