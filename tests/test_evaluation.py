"""Scoring: baselines, per-item evaluation on real data, means with confidence intervals."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from starlib.evaluation.baselines import bicubic_and_average, bicubic_upscale, frame_average
from starlib.data import load_window, middlebury_other, ucf101_dvf
from starlib.evaluation.methods import ground_truth
from starlib.evaluation.scoring import evaluate
from starlib.evaluation.stats import gain_by_reference_level, mean_ci95, summarize
from starlib.metrics import psnr


def test_frame_average_rounds_half_up():
    a, b = np.array([[[0, 1, 254]]], np.uint8), np.array([[[1, 2, 255]]], np.uint8)
    assert frame_average(a, b).tolist() == [[[1, 2, 255]]]


def test_baseline_outputs_have_the_ground_truth_sizes():
    stack = load_window(ucf101_dvf()[0])
    out = bicubic_and_average(stack)
    for key, value in out.items():
        assert value.shape == ground_truth(stack, key).shape, key
    assert np.array_equal(out["sr_t"], bicubic_upscale(stack.lr[0], 4))


def test_evaluate_scores_every_item_and_output():
    windows = middlebury_other()[:2]
    df = evaluate(bicubic_and_average, windows, "middlebury", ("sr_t", "sr_mid"), metrics=("psnr", "ie_mae"),
                  progress=False)
    assert len(df) == 4 and set(df["output"]) == {"sr_t", "sr_mid"}
    assert df.loc[df.output == "sr_t", "ie_mae"].isna().all()  # IE is for in-between frames only
    stack = load_window(windows[0])
    expected = psnr(stack.hr[1], bicubic_and_average(stack)["sr_mid"])
    assert df.loc[(df.item == windows[0].name) & (df.output == "sr_mid"), "psnr"].item() == pytest.approx(expected)


def test_bicubic_baseline_on_ucf101_is_in_the_papers_range():
    """Table 8 reports bicubic S-SR on all 379 UCF101 triplets at 27.217 dB (RGB); 40 of ours must land near."""
    df = evaluate(bicubic_and_average, ucf101_dvf()[:40], "ucf101", ("sr_t",), metrics=("psnr",), progress=False)
    assert 26.0 < df["psnr"].mean() < 28.5


def test_mean_ci95_matches_student_t():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    mean, lo, hi = mean_ci95(x)
    half = stats.t.ppf(0.975, 3) * x.std(ddof=1) / 2
    assert mean == pytest.approx(3.5) and lo == pytest.approx(3.5 - half) and hi == pytest.approx(3.5 + half)
    assert np.isnan(mean_ci95([2.0])[1])
    assert np.isinf(mean_ci95([1.0, np.inf])[0])


def test_summarize_long_format():
    df = pd.DataFrame({"dataset": ["a"] * 3, "item": list("xyz"), "output": ["o"] * 3, "seconds": [0.1] * 3,
                       "psnr": [30.0, 31.0, 32.0]})
    s = summarize(df)
    assert s[["dataset", "output", "metric", "mean", "n"]].values.tolist() == [["a", "o", "psnr", 31.0, 3]]


def test_gain_by_reference_level_bins_items_by_the_references_own_score():
    b = pd.DataFrame({"dataset": "d", "output": "lr_mid", "item": ["a", "b", "c", "e", "f"],
                      "psnr": [30.0, 38.0, 50.0, 52.0, 41.0]})
    a = pd.DataFrame({"dataset": "d", "output": "lr_mid", "item": ["a", "b", "c", "e", "g"],   # g: unpaired
                      "psnr": [31.0, 38.0, 40.0, 46.0, 99.0]})
    out = gain_by_reference_level(a, b).set_index("level")
    assert list(out.index) == ["< 35", "[35, 40)", ">= 45"]          # the empty [40, 45) bin is left out
    assert out["n"].tolist() == [1, 1, 2] and out["share"].sum() == pytest.approx(1.0)
    assert out.loc["< 35", "gain"] == pytest.approx(1.0)
    assert out.loc[">= 45", "gain"] == pytest.approx(-8.0)            # (40-50 + 46-52) / 2
    assert out.loc[">= 45", "reference_mean"] == pytest.approx(51.0)
    t = stats.t.ppf(0.975, 1) * np.std([-10.0, -6.0], ddof=1) / np.sqrt(2)
    assert out.loc[">= 45", "gain_ci95_low"] == pytest.approx(-8.0 - t)
    assert out.loc[">= 45", "level_low"] == 45.0 and np.isinf(out.loc[">= 45", "level_high"])


def test_gain_by_reference_level_leaves_out_identical_frames():
    b = pd.DataFrame({"dataset": "d", "output": "lr_mid", "item": ["a", "b"], "psnr": [30.0, np.inf]})
    a = pd.DataFrame({"dataset": "d", "output": "lr_mid", "item": ["a", "b"], "psnr": [31.0, 50.0]})
    out = gain_by_reference_level(a, b)
    assert out["n"].tolist() == [1] and out["share"].sum() == pytest.approx(1.0)


def test_gain_by_reference_level_rejects_unordered_edges():
    frame = pd.DataFrame({"dataset": ["d"], "output": ["lr_mid"], "item": ["a"], "psnr": [30.0]})
    with pytest.raises(ValueError, match="strictly ascending"):
        gain_by_reference_level(frame, frame, edges=(40, 35))
