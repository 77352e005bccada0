"""Tables 1-10 machinery: flow interpolation, Net_S-only baselines, cascades, table rows, claims, rendering."""

import numpy as np
import pandas as pd
import pytest
import torch

from starlib.evaluation.baselines import bicubic_upscale, flow_interpolate, frame_average, occlusion_mask
from starlib.study.tables.claims import MIN_EFFECT, Claim, evaluate_claims, verdict
from starlib.data import load_window, middlebury_other
from starlib.data.samples import FrameStack
from starlib.flow import compute_flow
from starlib.evaluation.cascades import LRFramesAsInput, SpaceThenTime, TimeThenSpace
from starlib.metrics import psnr
from starlib.models import STARConfig, STARnet
from starlib.models.star import component_parameter_counts, count_parameters
from starlib.study.setup.profile import load_profile
from starlib.evaluation.score_cache import ScoreCache
from starlib.study.tables.entries import Entry, table_rows, write_table
from starlib.study.tables.floors import FLOOR
from starlib.study.tables.render import render_all
from starlib.study.setup.workspace import Workspace
from starlib.train.losses import STARLoss


def _shifted(img: np.ndarray, dx: int) -> np.ndarray:
    return np.ascontiguousarray(np.roll(img, dx, axis=1))


def test_flow_interpolation_follows_motion_where_averaging_blurs():
    """A real frame moving 8 px to the right: the true middle frame is the 4 px shift. Flow interpolation
    must land near it; averaging two shifted copies must not."""
    img = load_window(middlebury_other()[0], 4).hr[0][:160, :240]
    a, b, mid = img, _shifted(img, 8), _shifted(img, 4)
    flow_fn = lambda x, y: compute_flow(x, y, "dis_medium")  # noqa: E731
    interp, avg = flow_interpolate(a, b, flow_fn), frame_average(a, b)
    inner = (slice(8, -8), slice(16, -16))        # np.roll wraps around at the borders
    assert psnr(mid[inner], interp[inner]) > psnr(mid[inner], avg[inner]) + 5
    assert psnr(mid[inner], interp[inner]) > 30


def test_occlusion_mask_is_all_visible_for_consistent_flows_and_flags_inconsistent_ones():
    zero = np.zeros((20, 30, 2), np.float32)
    assert occlusion_mask(zero, zero).min() == 1.0
    right = np.zeros_like(zero)
    right[..., 0] = 3.0
    assert occlusion_mask(right, -right)[:, :-3].min() == 1.0   # forward and backward agree
    assert occlusion_mask(right, right).max() == 0.0            # both point the same way: inconsistent


def test_flow_interpolation_refuses_frames_of_different_sizes():
    with pytest.raises(ValueError, match="same shape"):
        flow_interpolate(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8), lambda a, b: None)


# --- Net_S-only S-SR baselines --------------------------------------------------------------------

def test_net_s_only_is_exactly_net_s_and_trains_without_aux_outputs():
    cfg = load_profile("smoke").model
    ssr = STARnet(cfg.replace(net_s_only=True, use_motion=False, flow_refine=False))
    full = STARnet(cfg)
    assert count_parameters(ssr) == component_parameter_counts(full)["net_s"]
    assert ssr.output_names == ("sr_t", "sr_t1")
    x, f = torch.rand(1, 3, 16, 16), torch.zeros(1, 2, 16, 16)
    out = ssr(x, x, f, f)
    assert {"sr_t", "sr_t1"} <= set(out) and "sr_mid" not in out and "sr_t_aux" not in out
    batch = {"hr": torch.rand(1, 3, 3, 64, 64), "lr": torch.rand(1, 3, 3, 16, 16)}
    total, parts = STARLoss("STAR-S")(out, batch)
    assert torch.isfinite(total) and "l1_sr_t" in parts
    with pytest.raises(ValueError, match="does not produce"):
        STARLoss("STAR")(out, batch)


def test_net_s_only_refuses_flow_refinement_and_keeps_run_names_stable():
    with pytest.raises(ValueError, match="net_s_only"):
        STARConfig(net_s_only=True)
    # fields at their default are left out of the dict (and of run names): adding a field renames no run
    assert "net_s_only" not in STARConfig().to_dict()
    # the sparse dict's hash (format 2); fields added since (mid_base, fr_identity_init) renamed no run
    assert load_profile("cpu").model.replace(mid_base="average", fr_identity_init=False).short_hash() == "7f194b5280"
    cfg = STARConfig(net_s_only=True, use_motion=False, flow_refine=False)
    assert STARConfig.from_dict(cfg.to_dict()) == cfg
    assert STARConfig().diff(cfg) == {"net_s_only": (False, True), "use_motion": (True, False),
                                      "flow_refine": (True, False)}


# --- cascades -------------------------------------------------------------------------------------

def _bicubic_ssr(stack: FrameStack) -> dict:
    return {"sr_t": bicubic_upscale(stack.lr[0], 4), "sr_t1": bicubic_upscale(stack.lr[-1], 4)}


def test_cascades_produce_the_outputs_at_the_right_sizes():
    stack = load_window(middlebury_other()[0], 4)
    flow_fn = lambda x, y: compute_flow(x, y, "dis_ultrafast")  # noqa: E731
    s_then_t = SpaceThenTime(_bicubic_ssr, flow_fn)(stack)
    t_then_s = TimeThenSpace(flow_fn, _bicubic_ssr)(stack)
    assert s_then_t["sr_mid"].shape == stack.hr[1].shape == t_then_s["sr_mid"].shape
    assert t_then_s["lr_mid"].shape == stack.lr[1].shape
    avg = SpaceThenTime(_bicubic_ssr, frame_average, interpolate=False)(stack)["sr_mid"]
    assert np.array_equal(avg, frame_average(s_then_t["sr_t"], s_then_t["sr_t1"]))
    hr_model = lambda st: {"hr_mid": frame_average(st.hr[0], st.hr[-1])}  # noqa: E731
    assert LRFramesAsInput(hr_model)(stack)["lr_mid"].shape == stack.lr[1].shape


# --- score cache, table rows, rendering -----------------------------------------------------------

def test_cached_scores_computes_each_item_once(tmp_path):
    windows = middlebury_other()[:2]
    calls = []

    def method(stack):
        calls.append(stack.name)
        return {"lr_mid": frame_average(stack.lr[0], stack.lr[-1])}

    cache = ScoreCache(tmp_path)
    first = cache.scores(method, "avg", windows, "middlebury", ("lr_mid",), progress=False)
    again = cache.scores(method, "avg", windows, "middlebury", ("lr_mid",), progress=False)
    assert len(calls) == 2 and len(first) == 2
    pd.testing.assert_frame_equal(first, again)
    cache.scores(method, "avg", windows[:1], "middlebury", ("lr_mid",), niqe=True, progress=False)
    assert len(calls) == 3          # a NIQE request re-scores items scored without it


def _items(dataset: str, values: list[float], output: str = "sr_t") -> pd.DataFrame:
    return pd.DataFrame({"dataset": dataset, "item": [str(i) for i in range(len(values))], "output": output,
                         "psnr": values, "ssim": [0.9] * len(values)})


def test_table_rows_pair_with_the_reference_and_look_up_the_paper():
    rng = np.random.default_rng(0)
    base = rng.normal(30, 2, 40)
    entries = [Entry("RBPN", _items("ucf101", list(base)), "RBPN"),
               Entry("STAR-S", _items("ucf101", list(base + 0.5 + rng.normal(0, 0.1, 40))), "STAR-S"),
               Entry("DAIN", None, "DAIN", status="reported by the paper", outputs=("sr_t",))]
    rows = table_rows(8, entries, reference="RBPN")
    star = rows[(rows.method == "STAR-S") & (rows.metric == "psnr")].iloc[0]
    assert star.delta_vs_reference == pytest.approx(0.5, abs=0.05)
    assert star.delta_ci95_low < star.delta_vs_reference < star.delta_ci95_high
    assert star.paper_reported == pytest.approx(31.604) and star.paper_dataset == "ucf101"
    assert star.paper_delta_vs_reference == pytest.approx(31.604 - 30.969)
    assert star.ours_minus_paper == pytest.approx(star["mean"] - 31.604)
    assert rows[rows.method == "DAIN"].status.iloc[0] == "reported by the paper"
    vimeo_only = table_rows(1, [Entry("STAR", _items("ucf101", [30.0, 31.0]), "STAR")])
    psnr_row = vimeo_only[vimeo_only.metric == "psnr"].iloc[0]
    assert psnr_row.paper_dataset == "vimeo90k" and np.isnan(psnr_row.ours_minus_paper)  # no cross-data differences
    with pytest.raises(ValueError, match="reference row"):
        table_rows(8, entries, reference="nope")


def test_write_and_render_tables(tmp_path):
    prov = {"profile": "smoke", "seed": 1, "git_commit": "abc", "data": "d", "n_items": 0, "wall_time_s": 0.0,
            "created_utc": "now", "torch_version": "t", "device": "cpu"}
    entries = [Entry("RBPN", _items("ucf101", [30.0, 31.0, 32.0]), "RBPN"),
               Entry("STAR-S", _items("ucf101", [31.0, 32.0, 33.5]), "STAR-S")]
    ws = Workspace.create("smoke", results_dir=tmp_path)
    write_table(ws, 8, entries, prov, reference="RBPN")
    md, tex = render_all(ws.results)
    assert "Table 8. S-SR" in md and "+1.17" in md and "31.604" in md and "abc" in md
    assert r"\begin{tabular}" in tex and "STAR-S" in tex


# --- claims ---------------------------------------------------------------------------------------

def test_verdicts_follow_the_interval():
    assert verdict(0.1, 0.5) == "reproduced"
    assert verdict(-0.5, -0.1) == "not reproduced"
    assert verdict(-0.1, 0.2) == "inconclusive"
    assert verdict(float("nan"), float("nan")) == "inconclusive"


def test_verdicts_need_an_effect_of_at_least_delta():
    assert verdict(0.06, 0.2, 0.05) == "reproduced" and verdict(0.01, 0.2, 0.05) == "inconclusive"
    assert verdict(-0.2, -0.06, 0.05) == "not reproduced" and verdict(-0.2, -0.01, 0.05) == "inconclusive"
    assert verdict(0.0001, 0.0011, 0.05) == "no effect at this scale"      # separable, but no effect
    assert verdict(-0.04, 0.04, 0.05) == "no effect at this scale"
    assert MIN_EFFECT["psnr"] == 0.05 and MIN_EFFECT["ssim"] == 0.002


def test_a_claim_is_not_testable_when_its_model_does_not_beat_the_floor(tmp_path):
    rng = np.random.default_rng(2)
    floor = rng.normal(30, 2, 40)
    frames = [_items("ucf101", list(floor)).assign(method=FLOOR),
              _items("ucf101", list(floor + 0.01 + rng.normal(0, 0.01, 40))).assign(method="weak"),
              _items("ucf101", list(floor - 0.5 + rng.normal(0, 0.01, 40))).assign(method="worse"),
              _items("ucf101", list(floor + 1.0 + rng.normal(0, 0.01, 40))).assign(method="strong")]
    pd.concat(frames).to_csv(tmp_path / "table1_items.csv", index=False)
    claims = (Claim("weak", 1, "weak", "worse", "sr_t", "weak beats worse"),
              Claim("strong", 1, "strong", "worse", "sr_t", "strong beats worse"),
              Claim("floor", 1, "strong", FLOOR, "sr_t", "strong beats the floor"))
    got = evaluate_claims(tmp_path, claims).set_index("claim")
    assert got.loc["weak", "verdict"] == "not testable at this scale" and FLOOR in got.loc["weak", "reason"]
    assert got.loc["weak", "margin_ci95_low"] > 0.05          # separable from 'worse', yet below the floor + delta
    assert got.loc["strong", "verdict"] == "reproduced" and got.loc["strong", "floor_margin"] == pytest.approx(1.0, abs=0.01)
    assert got.loc["floor", "verdict"] == "reproduced"       # a claim against the floor itself is the test


def test_claims_are_evaluated_on_paired_items(tmp_path):
    rng = np.random.default_rng(1)
    base = rng.normal(30, 2, 30)
    frames = [_items("ucf101", list(base)).assign(method="B"),
              _items("ucf101", list(base + 0.3 + rng.normal(0, 0.05, 30))).assign(method="A"),
              _items("ucf101", list(base + rng.normal(0, 0.5, 30))).assign(method="C"),
              _items("ucf101", list(base)).assign(method="D", niqe=4.0),
              _items("ucf101", list(base)).assign(method="E", niqe=5.0)]
    frames[3]["niqe"], frames[4]["niqe"] = 4.0 + rng.normal(0, 0.01, 30), 5.0
    pd.concat(frames).to_csv(tmp_path / "table8_items.csv", index=False)
    claims = (Claim("ab", 8, "A", "B", "sr_t", "A beats B"), Claim("ba", 8, "B", "A", "sr_t", "B beats A"),
              Claim("cb", 8, "C", "B", "sr_t", "C beats B"), Claim("xb", 8, "X", "B", "sr_t", "X beats B"),
              Claim("de", 8, "D", "E", "sr_t", "D has lower NIQE", "niqe"),
              Claim("t2", 2, "A", "B", "sr_t", "no table"))
    got = evaluate_claims(tmp_path, claims).set_index("claim")
    assert got.loc["ab", "verdict"] == "reproduced" and got.loc["ab", "margin"] == pytest.approx(0.3, abs=0.05)
    assert got.loc["ba", "verdict"] == "not reproduced"
    assert got.loc["cb", "verdict"] == "inconclusive"
    assert got.loc["xb", "verdict"] == "not tested" and "X" in got.loc["xb", "reason"]
    assert got.loc["de", "verdict"] == "reproduced"          # lower NIQE counts as better
    assert got.loc["t2", "verdict"] == "not tested"


def test_claims_carry_the_papers_own_margin_where_it_reports_both_rows(tmp_path):
    prov = {"profile": "smoke", "seed": 1, "git_commit": "abc", "data": "d", "n_items": 0, "wall_time_s": 0.0,
            "created_utc": "now", "torch_version": "t", "device": "cpu"}
    base = np.random.default_rng(3).normal(30, 2, 20)
    ws = Workspace.create("smoke", results_dir=tmp_path)
    write_table(ws, 8, [Entry("RBPN", _items("ucf101", list(base)), "RBPN"),
                        Entry("STAR-S", _items("ucf101", list(base + 0.2)), "STAR-S"),
                        Entry("ours only", _items("ucf101", list(base + 0.1)))], prov, reference="RBPN")
    claims = (Claim("paper", 8, "STAR-S", "RBPN", "sr_t", "STAR-S beats RBPN"),
              Claim("ours", 8, "ours only", "RBPN", "sr_t", "a row the paper does not have"))
    got = evaluate_claims(ws.results, claims).set_index("claim")
    assert got.loc["paper", "paper_margin"] == pytest.approx(31.604 - 30.969)    # Table 8, UCF101
    assert got.loc["paper", "paper_dataset"] == "ucf101"
    assert np.isnan(got.loc["ours", "paper_margin"])
