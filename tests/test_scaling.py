"""Claims against compute (starlib.study.tables.scaling): budgets scale every step count, k = 1 is the profile itself,
trends by weighted least squares, the per-budget folders collected with their own commits."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from starlib.study.tables import scaling as S
from starlib.study.trainings import scaling_runs as SR
from starlib.study.setup.profile import load_profile, parse_profile
from starlib.study.trainings.plans import run_configs, run_name, stages
from starlib.study.setup.workspace import Workspace
from starlib.util.config import ConfigError
from starlib.util.provenance import write_results_csv


@pytest.fixture
def ws(tmp_path):
    return Workspace.create("smoke", results_dir=tmp_path / "results", runs_dir=tmp_path / "runs",
                            cache_dir=tmp_path / "cache", progress=False)


def test_k1_is_the_profile_itself_with_the_same_runs(ws):
    assert SR.scaled_profile(ws.profile, 1) is ws.profile
    b = SR.budget_workspace(ws, 1)
    assert b.runs == ws.runs and b.results == ws.results / "scaling" / "k1"
    for group in SR.GROUPS:
        assert [n for n, _ in SR.budget_runs(b, group)] == [n for n, _ in SR.budget_runs(ws, group)]


def test_a_budget_scales_every_step_count_and_the_validation_interval(ws):
    p, q = ws.profile, SR.scaled_profile(ws.profile, 2)
    assert q.name == p.name
    assert (q.stages.net_s_steps, q.stages.fr_steps, q.stages.core_steps) == \
        (2 * p.stages.net_s_steps, 2 * p.stages.fr_steps, 2 * p.stages.core_steps)
    assert q.validation.every == 2 * p.validation.every
    b = SR.budget_workspace(ws, 2)
    base = dict(SR.budget_runs(ws, "central"))
    scaled = SR.budget_runs(b, "central")
    assert not set(base) & {n for n, _ in scaled}          # every run of the chains is another run
    rows, scaled_rows = SR.row_trainings(ws, "central"), SR.row_trainings(b, "central")
    for row, whats in rows.items():                         # the same chains, every run at twice the steps
        for what, twice in zip(stages(ws, whats[-1]), stages(b, scaled_rows[row][-1]), strict=True):
            one, two = run_configs(ws, what)[1], run_configs(b, twice)[1]
            assert two.steps == 2 * one.steps and two.lr_milestones == one.lr_milestones
    half = SR.scaled_profile(p, 0.1)                          # never below one step
    assert half.stages.fr_steps == 1 and half.train.fields("STAR")["steps"] == 1


def test_a_profile_that_loads_a_stage_from_a_file_is_refused(ws, tmp_path):
    weights = tmp_path / "net_s.pth"
    weights.write_bytes(b"x")
    loaded = dataclasses.replace(ws.profile, stages=dataclasses.replace(ws.profile.stages, net_s_file=str(weights)))
    assert SR.scaled_profile(loaded, 1) is loaded
    with pytest.raises(ConfigError, match="net_s_file"):
        SR.scaled_profile(loaded, 2)


def test_scaling_section_is_validated():
    import tomllib

    from starlib.study.setup.profile import PROFILE_DIR

    smoke = tomllib.loads((PROFILE_DIR / "smoke.toml").read_text())     # a whole profile, its [scaling] replaced
    for bad in ({"central": []}, {"central": [1, 1]}, {"ablations": [0]}, {"central": ["x"]}, {"other": [1]},
                {"video_clips": ["nope"]}, {"central": [1], "replicates": [2], "replicate_seeds": [7]},
                {"replicates": [1]}, {"replicate_seeds": [7]}, {"replicates": [1], "replicate_seeds": [7, 7]},
                {"replicates": [1], "replicate_seeds": [-1]}):
        with pytest.raises(ConfigError, match="scaling"):
            parse_profile("t", {**smoke, "scaling": bad})
    good = parse_profile("t", {**smoke, "scaling": {"central": [2, 0.5, 1]}})
    assert good.scaling.budgets("central") == (0.5, 1.0, 2.0)
    for name in ("smoke", "cpu", "gpu", "paper"):
        assert 1.0 in load_profile(name).scaling.central
    with pytest.raises(ConfigError, match="notebook_trains"):
        parse_profile("t", {**smoke, "scaling": {"notebook_trains": "no"}})


def test_only_smoke_trains_scaling_budgets_inside_the_pipeline():
    """make reproduce runs notebook 15: at smoke it trains its budgets (minutes); at cpu, gpu and paper they take
    hours to days, so it only collects what `python -m starlib scaling` trained."""
    assert load_profile("smoke").scaling.notebook_trains
    for name in ("cpu", "gpu", "paper"):
        assert not load_profile(name).scaling.notebook_trains, name


def test_claim_compute_counts_a_run_both_rows_share_once(ws):
    runs = pd.DataFrame([{"run": n, "flops": 1.0, "hours": 0.5} for n, _ in SR.budget_runs(ws, "central")])
    compute = S.claim_compute(ws, "central", runs).set_index("claim")
    # STAR-ST's chain (Net_S, FR, core, STAR, STAR-ST) holds STAR's: five runs, not nine
    assert compute.loc["T7-starst-vs-star", "train_flops"] == 5
    assert compute.loc["T7-starst-vs-dbpn-cascade", "train_flops"] == 6      # plus DBPN alone
    assert compute.loc["T7-starst-vs-cascade", "train_flops"] == 5           # RBPN alone is STAR's stage (a)
    assert compute.loc["T2-st", "train_hours"] == 2.5


def test_weighted_slope_and_its_interval():
    x = np.arange(5.0)
    slope, lo, hi = S.wls_slope(x, 0.3 * x - 1, np.full(5, 0.1))
    assert slope == pytest.approx(0.3) and lo == pytest.approx(0.3) and hi == pytest.approx(0.3)
    noisy = 0.3 * x - 1 + np.array([0.05, -0.04, 0.03, -0.05, 0.02])
    slope, lo, hi = S.wls_slope(x, noisy, np.full(5, 0.1))
    assert lo < 0.3 < hi and lo < slope < hi
    # a precise point pulls the line: weights are 1 / se^2
    y = np.array([0.0, 1.0, 0.0])
    assert S.wls_slope([0, 1, 2], y, [0.01, 1, 0.01])[0] == pytest.approx(0.0, abs=1e-3)
    assert np.isnan(S.wls_slope([0, 1], [0, 1], [1, 1])[1]) and np.isnan(S.wls_slope([0], [1], [1])[0])


def test_verdict_changes_names_the_budget():
    rows = pd.DataFrame({"k": [2, 0.5, 1], "verdict": ["inconclusive", "not reproduced", "not reproduced"]})
    assert S.verdict_changes(rows) == "k=2: not reproduced -> inconclusive"
    assert S.verdict_changes(rows.assign(verdict="reproduced")) == "none"


def _budget_claims(ws, k, margin, commit, group="central", seed=None):
    b = SR.budget_workspace(ws, k, group, seed)
    rows = [{"claim": "T2-st", "table": 2, "text": "t", "dataset": d, "output": "sr_mid", "metric": "psnr", "n": 10,
             "margin": margin, "margin_ci95_low": margin - 0.1, "margin_ci95_high": margin + 0.1, "min_effect": 0.05,
             "verdict": "reproduced" if margin - 0.1 > 0.05 else "not reproduced" if margin + 0.1 < -0.05
             else "inconclusive", "train_flops": 1e12 * k, "train_hours": k, "git_commit": commit,
             "seed": b.train_seed}
            for d in ("middlebury", "ucf101")]
    pd.DataFrame(rows).to_csv(b.results_file(f"claims_{group}.csv"), index=False)


def test_collect_keeps_each_budgets_commit_and_trends_follow(ws):
    for k, margin, commit in ((0.5, -0.4, "aaa"), (1, -0.2, "bbb"), (2, 0.0, "ccc")):
        _budget_claims(ws, k, margin, commit)
    rows = S.collect(ws, "central")
    assert list(rows.k.unique()) == [0.5, 1.0, 2.0]
    assert dict(zip(rows.k, rows.budget_git_commit)) == {0.5: "aaa", 1.0: "bbb", 2.0: "ccc"}
    t = S.trends(rows).set_index("dataset")
    assert t.loc["ucf101", "slope_per_doubling"] == pytest.approx(0.2)
    assert t.loc["ucf101", "verdict_changes"] == "k=2: not reproduced -> inconclusive"
    claims = pd.DataFrame({"claim": ["T2-st", "T1-fr-s"], "dataset": ["ucf101", "ucf101"], "trend_old": [1, 2]})
    merged = S.with_trend_columns(claims, S.trends(rows))
    assert "trend_old" not in merged and merged.trend_slope_per_doubling.iloc[0] == pytest.approx(0.2)
    assert np.isnan(merged.trend_slope_per_doubling.iloc[1]) and "trend_git_commit" not in merged
    prov = {"git_commit": "ddd", "created_utc": "2031-01-01T00:00:00Z"}
    merged = S.with_trend_columns(claims, S.trends(rows), prov)     # the commit that computed the trend
    assert merged.trend_git_commit.iloc[0] == "ddd" and pd.isna(merged.trend_git_commit.iloc[1])


def test_a_budget_without_its_runs_is_skipped_when_not_training(ws):
    said = []
    assert not S.run_budget(ws, "central", 2, train_missing=False, log=said.append)
    assert "--budgets 2" in said[0] and not S.claims_file(SR.budget_workspace(ws, 2), "central").exists()
    SR.budget_workspace(ws, 1).results_file("claims_central.csv").write_text("claim\n")
    assert S.run_budget(ws, "central", 1, train_missing=False) and not S.run_budget(ws, "ablations", 1, False, said.append)


def test_scaled_runs_are_in_the_inventory(ws):
    names = {n for n, _, _ in SR.scaling_runs(ws)}
    b = SR.budget_workspace(ws, 2)
    assert run_name(b, SR.row_trainings(b, "central")[(7, "STAR-ST")][0]) in names
    assert {n for n, _ in SR.budget_runs(ws, "ablations")} <= names


def test_train_all_lists_the_scaled_runs(tmp_path, capsys):
    from starlib.__main__ import main

    assert main(["train", "--profile", "smoke", "--all", "--scaling", "--list", "--runs-dir", str(tmp_path)]) == 0
    listed = capsys.readouterr().out.splitlines()
    ws = Workspace.create("smoke", runs_dir=tmp_path, progress=False)
    b = SR.budget_workspace(ws, 2)
    star_st = run_name(b, SR.row_trainings(b, "central")[(7, "STAR-ST")][0])
    assert any(line.startswith(star_st) and "to train" in line for line in listed)
    assert len(listed) == len({line.split()[0] for line in listed})          # each run once


def test_the_video_group_is_the_central_group_with_more_video(ws):
    b = SR.budget_workspace(ws, 1, "video")
    assert b.results == ws.results / "scaling" / "video-k1"
    assert b.profile.data.packaged_video == ws.profile.scaling.video_clips and not ws.profile.data.packaged_video
    assert S.group_claims("video") == S.group_claims("central")
    assert set(SR.row_trainings(b, "video")) == set(SR.row_trainings(ws, "central"))
    with pytest.raises(ConfigError, match="scaling group"):
        SR.budget_workspace(ws, 1, "nope")


def test_the_figure_has_a_panel_per_psnr_claim_and_per_validated_row(ws):
    import matplotlib
    matplotlib.use("Agg")
    from starlib.study.tables.scaling_figure import scaling_figure, seed_spread_markdown, stamp_details, trend_markdown

    for k, margin in ((0.5, -0.4), (1, -0.2), (2, 0.0)):
        _budget_claims(ws, k, margin, "abc")
    _budget_claims(ws, 0.5, -0.1, "def", "replicates", 124)
    rows = pd.concat([S.collect(ws, "central"), S.collect(ws, "central").assign(group="video", claim="T2-st"),
                      S.collect(ws, "replicates")])
    rows["paper_margin"], rows["runs"], rows["runs_timed"] = 0.3, 5, 5
    val = pd.DataFrame({"group": "central", "k": [1, 1, 2, 2], "row": "STAR-ST", "step": [0, 10, 0, 20],
                        "output": "sr_mid", "gain": [0.1, 0.5, 0.1, 0.7]})
    fig = scaling_figure(rows, val, "t")
    assert sum(ax.get_visible() for ax in fig.axes) == 2
    assert stamp_details(rows) == "seeds=123,124 test=middlebury,ucf101"
    assert stamp_details(rows.iloc[:0]) == "seeds=- test=-"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "another training seed" in legend and "trained with more real video" in legend
    assert "123,124" in seed_spread_markdown(S.seed_spread(rows)) and "No replicates" in seed_spread_markdown(
        S.seed_spread(rows[rows.group != "replicates"]))
    assert "k=2: not reproduced -> inconclusive" in trend_markdown(S.trends(rows))


def test_a_scored_budget_keeps_its_runs_records_so_hours_and_curves_survive_the_runs(ws):
    import shutil
    b = SR.budget_workspace(ws, 2)
    name, what = SR.budget_runs(b, "central")[-1]
    run = b.runs / name
    run.mkdir(parents=True)
    (run / "model.pt").write_bytes(b"weights")
    (run / "log.csv").write_text("step,loss,seconds_per_step\n1,0.5,2.0\n2,0.4,4.0\n")
    (run / "val.csv").write_text("step,output,psnr,baseline_psnr\n2,sr_mid,30.0,29.0\n")
    steps = run_configs(b, what)[1].steps
    assert SR.keep_run_records(b, "central") == [name]
    shutil.rmtree(b.runs)                                   # another machine: the runs are gone
    kept = SR.run_records_dir(b) / name
    assert sorted(p.name for p in kept.iterdir()) == ["log.csv", "val.csv"] and not (kept / "model.pt").exists()
    assert SR.run_hours(b, name, steps) == pytest.approx(3.0 * steps / 3600)


def test_replicates_are_the_central_group_retrained_with_other_seeds(ws):
    k, seed = ws.profile.scaling.replicates[0], ws.profile.scaling.replicate_seeds[0]
    assert SR.budget_points(ws.profile, "replicates") == [(k, s) for s in ws.profile.scaling.replicate_seeds]
    assert SR.budget_points(ws.profile, "central") == [(b, None) for b in ws.profile.scaling.budgets("central")]
    assert SR.budget_points(ws.profile, "replicates", [2, 1], [7]) == [(1, 7), (2, 7)]     # the command's choice
    no_seeds = dataclasses.replace(ws.profile, scaling=dataclasses.replace(ws.profile.scaling, replicates=(),
                                                                           replicate_seeds=()))
    with pytest.raises(ConfigError, match="replicate_seeds is empty"):
        SR.budget_points(no_seeds, "replicates", [1])
    b, main = SR.budget_workspace(ws, k, "replicates", seed), SR.budget_workspace(ws, k)
    assert b.results == ws.results / "scaling" / f"replicates-k{k:g}-seed{seed}" and b.train_seed == seed
    assert S.group_claims("replicates") == S.group_claims("central")
    runs, main_runs = SR.budget_runs(b, "replicates"), SR.budget_runs(main, "central")
    assert len(runs) == len(main_runs) and not {n for n, _ in runs} & {n for n, _ in main_runs}
    for (_, what), (_, twin) in zip(runs, main_runs, strict=True):     # the same chains, another seed
        one, other = run_configs(b, what)[1], run_configs(main, twin)[1]
        differ = {f.name for f in dataclasses.fields(one) if getattr(one, f.name) != getattr(other, f.name)}
        assert "seed" in differ and differ <= {"seed", "init_from", "init_net_s", "init_flow_net"}   # parents
    with pytest.raises(ConfigError, match="training seed of the central group"):
        SR.budget_workspace(ws, k, "replicates", ws.train_seed)
    with pytest.raises(ConfigError, match="needs its training seed"):
        SR.budget_workspace(ws, k, "replicates")
    with pytest.raises(ConfigError, match="replicates group only"):
        SR.budget_workspace(ws, k, "central", seed)
    said = []                                               # the command it names trains that seed
    assert not S.run_budget(ws, "replicates", k, train_missing=False, log=said.append, seed=seed)
    assert f"--group replicates --budgets {k:g} --seeds {seed}" in said[0]
    assert {n for n, _ in runs} <= {n for n, _, _ in SR.scaling_runs(ws)}


def test_seed_spread_sets_each_replicate_beside_the_central_point_and_stays_out_of_the_trends(ws):
    for k, margin in ((0.5, -0.4), (1, -0.2), (2, 0.0)):
        _budget_claims(ws, k, margin, "abc")
    central = S.collect(ws, "central")
    _budget_claims(ws, 0.5, -0.1, "def", "replicates", 124)
    replicates = S.collect(ws, "replicates")
    assert set(replicates.train_seed) == {124} and set(replicates.budget_git_commit) == {"def"}
    rows = pd.concat([central, replicates], ignore_index=True)
    pd.testing.assert_frame_equal(S.trends(rows), S.trends(central))
    spread = S.seed_spread(rows).set_index("dataset")
    assert list(spread.index) == ["middlebury", "ucf101"]
    r = spread.loc["ucf101"]
    assert (r.k, r.n_seeds, r.seeds, r.margins) == (0.5, 2, "123,124", "-0.400,-0.100")
    assert r.margin_range == pytest.approx(0.3) and r.margin_sd == pytest.approx(0.3 / np.sqrt(2))
    assert r.margin_mean == pytest.approx(-0.25) and r.ci95_half_width == pytest.approx(0.1)
    assert r.verdicts == "not reproduced,inconclusive"
    assert S.seed_spread(central).empty and set(S.seed_spread(central).columns) == set(spread.reset_index().columns)


def test_the_scaling_command_refuses_seeds_outside_the_replicates_group(tmp_path):
    from starlib.__main__ import main

    with pytest.raises(SystemExit, match="seeds are for the replicates group"):
        main(["scaling", "--profile", "smoke", "--group", "central", "--seeds", "7", "--list",
              "--runs-dir", str(tmp_path)])


def _study_tables(ws, group, runs=None, seed=None, commit="abc1234"):
    """Fake study tables of a group's k = 1 rows in ws.results: each row names the run the budget plans
    (``runs``: row label -> another run name), paired items on two data sets for every output its claims read."""
    b = SR.budget_workspace(ws, 1, group)
    rows = SR.row_trainings(b, group)
    outputs = sorted({c.output for c in S.group_claims(group)})
    prov = {**ws.provenance("fake study tables", 6, 1.0), "git_commit": commit,
            **({"seed": seed} if seed is not None else {})}
    rng = np.random.default_rng(0)
    for table in sorted({t for t, _ in rows}):
        labels = [label for t, label in rows if t == table]
        summary = [{"table": table, "method": label, "dataset": d, "output": o, "metric": "psnr", "mean": 30.0,
                    "info_run": (runs or {}).get(label, SR.plan(b, rows[(table, label)][-1]).name)
                    if rows[(table, label)] else None}
                   for label in labels for d in ("middlebury", "ucf101") for o in outputs]
        items = [{"method": label, "dataset": d, "item": f"i{i}", "output": o, "psnr": 30 + j + rng.normal(0, 0.01)}
                 for j, label in enumerate(labels) for d in ("middlebury", "ucf101") for i in range(6) for o in outputs]
        write_results_csv(summary, ws.results_file(f"table{table}.csv"), prov)
        write_results_csv(items, ws.results_file(f"table{table}_items.csv"), prov)


def test_k1_stands_on_the_study_tables_when_they_name_the_budgets_runs(ws):
    """k = 1 is the profile itself: with its runs gone, the study's own tables (the same runs) are its scores,
    read where they are; tables of other runs, another seed or a missing table are not."""
    said = []
    assert "not in" in S.study_tables_differ(ws, "ablations")
    assert not S.run_budget(ws, "ablations", 1, train_missing=False, log=said.append) and "skipped" in said[-1]
    _study_tables(ws, "ablations")
    assert S.study_tables_differ(ws, "ablations") is None
    assert "other runs" in S.study_tables_differ(ws, "video") and "other runs" in S.study_tables_differ(ws, "replicates")
    assert S.run_budget(ws, "ablations", 1, train_missing=False, log=said.append) and "stand for it" in said[-2]
    b = SR.budget_workspace(ws, 1, "ablations")
    claims = pd.read_csv(S.claims_file(b, "ablations"))
    study = S.evaluate_claims(ws.results, S.group_claims("ablations"))
    assert (claims.verdict != "not tested").any()
    pd.testing.assert_series_equal(claims.margin, study.margin, check_names=False)     # the study's numbers
    assert claims["data"].str.contains("tables 1, 4, 6").all() and claims["data"].str.contains("abc1234").all()
    assert (claims.train_flops > 0).all() and not list(b.results.glob("table*.csv"))   # one home: no copies
    assert not S.run_budget(ws, "ablations", 2, train_missing=False, log=said.append)  # k = 1 only

    label = next(label for (t, label), whats in SR.row_trainings(b, "ablations").items() if whats and t == 4)
    _study_tables(ws, "ablations", runs={label: "STAR-0000000000"})
    assert f"row {label!r} was scored with STAR-0000000000" in S.study_tables_differ(ws, "ablations")
    _study_tables(ws, "ablations", seed=ws.train_seed + 1)
    assert "another profile or seed" in S.study_tables_differ(ws, "ablations")
    _study_tables(ws, "ablations", commit="abc1234-dirty")
    assert "uncommitted changes" in S.study_tables_differ(ws, "ablations")
    _study_tables(ws, "ablations")
    (ws.results / "table6_items.csv").unlink()
    assert "table6.csv or its items" in S.study_tables_differ(ws, "ablations")
