"""The issue-12 targets: paired differences against a bound, per test set, and the ablation rule read from the
claims."""

import numpy as np
import pandas as pd
import pytest

from starlib.study.tables.targets import ABOVE, NO_WORSE, Target, evaluate_targets, tally, targets_markdown


def _items(method: str, values, output: str = "sr_t", dataset: str = "ucf101") -> pd.DataFrame:
    return pd.DataFrame({"method": method, "dataset": dataset, "item": [str(i) for i in range(len(values))],
                         "output": output, "psnr": values})


@pytest.fixture
def results(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.normal(30, 2, 30)
    noise = lambda: rng.normal(0, 0.02, 30)  # noqa: E731
    pd.concat([_items("ref", base), _items("small gain", base + 0.2 + noise()),
               _items("slightly worse", base - 0.02 + noise()), _items("much worse", base - 0.5 + noise()),
               _items("ref", base[:10], dataset="middlebury"), _items("small gain", base[:10] + 2.0, dataset="middlebury")]
              ).to_csv(tmp_path / "table8_items.csv", index=False)
    return tmp_path


def test_targets_are_judged_by_the_paired_interval_against_their_bound(results):
    targets = (Target("above", "a small gain is above by delta", ("table8_items", "small gain"), ("table8_items", "ref"), "sr_t"),
               Target("1db", "a small gain is not 1 dB", ("table8_items", "small gain"), ("table8_items", "ref"), "sr_t",
                      ABOVE, 1.0),
               Target("nw", "slightly worse is no worse", ("table8_items", "slightly worse"), ("table8_items", "ref"),
                      "sr_t", NO_WORSE),
               Target("nw2", "much worse is worse", ("table8_items", "much worse"), ("table8_items", "ref"), "sr_t",
                      NO_WORSE),
               Target("missing", "a row not run", ("star_st", "STAR-ST"), ("table8_items", "ref"), "sr_t", goal=True))
    got = evaluate_targets(results, claims=pd.DataFrame(columns=["table", "paper_margin", "verdict"]), targets=targets)
    by = {(r.target, r.dataset): r for r in got.itertuples()}
    assert by[("above", "ucf101")].status == "met" and by[("above", "ucf101")].difference == pytest.approx(0.2, abs=0.02)
    assert by[("1db", "ucf101")].status == "not met" and by[("1db", "middlebury")].status == "met"   # +2 dB there
    assert by[("nw", "ucf101")].status == "met" and by[("nw2", "ucf101")].status == "not met"
    assert by[("missing", "")].status == "not run" and "STAR-ST in star_st.csv" in by[("missing", "")].reason
    assert tally(got) == {"met": 4, "not met": 2, "undefined": 0, "not run": 0}   # goals are not counted
    md = targets_markdown(got)
    assert "| a small gain is not 1 dB | ucf101 |" in md and "(goal)" in md


def test_the_ablation_target_reads_the_claims_where_the_paper_differs(results):
    claims = pd.DataFrame([
        {"claim": "T1-a", "table": 1, "text": "A helps", "better": "x", "worse": "y", "output": "sr_mid",
         "dataset": "ucf101", "n": 30, "margin": 0.001, "margin_ci95_low": -0.01, "margin_ci95_high": 0.01,
         "verdict": "no effect at this scale", "paper_margin": 0.36},
        {"claim": "T4-b", "table": 4, "text": "B helps", "better": "x", "worse": "y", "output": "sr_t",
         "dataset": "ucf101", "n": 30, "margin": 0.3, "margin_ci95_low": 0.2, "margin_ci95_high": 0.4,
         "verdict": "reproduced", "paper_margin": 0.19},
        {"claim": "T6-c", "table": 6, "text": "C helps a little", "better": "x", "worse": "y", "output": "sr_mid",
         "dataset": "ucf101", "n": 30, "margin": 0.0, "margin_ci95_low": -0.01, "margin_ci95_high": 0.01,
         "verdict": "no effect at this scale", "paper_margin": 0.05},          # the paper's own is below 0.1 dB
        {"claim": "T7-d", "table": 7, "text": "not an ablation", "better": "x", "worse": "y", "output": "sr_mid",
         "dataset": "ucf101", "n": 30, "margin": 0.0, "margin_ci95_low": -0.01, "margin_ci95_high": 0.01,
         "verdict": "no effect at this scale", "paper_margin": 1.0}])
    got = evaluate_targets(results, claims=claims, targets=()).set_index("target")
    assert list(got.index) == ["ablation-T1-a", "ablation-T4-b"]
    assert got.loc["ablation-T1-a", "status"] == "not met" and got.loc["ablation-T4-b", "status"] == "met"
    assert "(paper +0.36 dB)" in got.loc["ablation-T1-a", "text"]


def test_every_target_has_its_own_id_and_undefined_intervals_are_not_failures(results):
    from starlib.study.tables.targets import TARGETS

    ids = [t.id for t in TARGETS]
    assert len(ids) == len(set(ids)), ids
    one = pd.concat([_items("x", [30.0]), _items("y", [29.0])])
    one.to_csv(results / "table9_items.csv", index=False)
    got = evaluate_targets(results, claims=pd.DataFrame(columns=["table", "paper_margin", "verdict"]),
                           targets=(Target("single", "one item", ("table9_items", "x"), ("table9_items", "y"), "sr_t"),))
    assert got.set_index("target").loc["single", "status"] == "undefined"


def test_ablation_claims_without_rows_are_not_run_and_no_claims_is_said(results):
    claims = pd.DataFrame([{"claim": "T1-a", "table": 1, "text": "A helps", "better": "x", "worse": "y",
                            "output": "sr_mid", "dataset": "", "verdict": "not tested", "reason": "not run: x",
                            "paper_margin": float("nan")}])
    got = evaluate_targets(results, claims=claims, targets=()).set_index("target")
    assert got.loc["ablation-T1-a", "status"] == "not run" and got.loc["ablation-T1-a", "reason"] == "not run: x"
    none = evaluate_targets(results / "nothing", claims=None, targets=())
    assert list(none.status) == ["not run"] and "claims.csv" in none.reason.iloc[0]
    assert "not run" in targets_markdown(none)
