"""The study's runs declared once (starlib.study.trainings.catalog) and one plan per training (starlib.study.trainings.plans):
every row a claim names is catalogued, the inventory is the catalog's plans, and a plan's runs enter its config."""

import pytest

from starlib.study.trainings.catalog import FLOOR, OBJECTIVE_ROWS, T5, T8, T9, study_catalog, table_catalog
from starlib.study.trainings.inventory import study_plans, study_runs
from starlib.study.trainings.plans import plan, run_configs, run_name, stages
from starlib.study.setup.workspace import Workspace
from starlib.study.tables.claims import CLAIMS

#: Rows without a network of ours: the floor and the other non-learned methods.
NOT_TRAINED = {FLOOR, T8.BICUBIC, T9.AVERAGE, T9.FI}


@pytest.fixture(scope="module", params=["smoke", "cpu"])
def ws(request):
    return Workspace.create(request.param, progress=False)


def test_every_row_a_claim_names_is_catalogued_or_has_no_network(ws):
    catalogued = {(row.table, row.label) for row in study_catalog(ws)}
    for c in CLAIMS:
        for label in (c.better, c.worse):
            assert (c.table, label) in catalogued or label in NOT_TRAINED or (c.table, label) == (3, "STAR-ST L_f"), \
                f"claim {c.id}: row {label!r} of Table {c.table} is neither catalogued nor a non-learned method"


def test_the_catalog_holds_each_objective_once_and_rows_of_several_networks_say_so(ws):
    objectives = table_catalog(ws, OBJECTIVE_ROWS)
    assert [row.training.objective for row in objectives.values()] == list(objectives)
    both = table_catalog(ws, 5)[T5.ST_THEN_THR]
    assert [t.objective for t in both.trainings] == ["STAR-ST", "STAR-T_HR"]
    with pytest.raises(ValueError, match="2 trainings"):
        both.training
    assert list(table_catalog(ws, 7, ["STAR-ST", "STAR"])) == ["STAR-ST", "STAR"]


def test_the_inventory_is_every_catalogued_plan_with_its_stages_upstream_first(ws):
    plans = study_plans(ws)
    names = [p.name for p in plans]
    assert len(names) == len(set(names)) and [n for n, _ in study_runs(ws)] == names
    position = {name: i for i, name in enumerate(names)}
    for row in study_catalog(ws):
        for what in row.trainings:
            chain = plan(ws, what).chain
            assert [p.name for p in chain][-1] == run_name(ws, what) and [p.what for p in chain] == stages(ws, what)
            assert all(position[p.name] < position[chain[-1].name] for p in chain[:-1])


def test_a_plan_is_its_configs_and_the_runs_it_starts_from_enter_them_by_name(ws):
    for p in study_plans(ws):
        assert (p.model, p.train) == run_configs(ws, p.what) and p.objective.name == p.what.objective
        starts = {p.train.init_from, p.train.init_net_s, p.train.init_flow_net}
        assert {need.name for need in p.needs} <= starts, p.name
