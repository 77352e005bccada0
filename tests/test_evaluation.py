"""Scoring: baselines, per-item evaluation on real data, means with confidence intervals."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from starlib.evaluation.baselines import bicubic_and_average, bicubic_upscale, frame_average
from starlib.data import load_window, middlebury_other, ucf101_dvf
from starlib.evaluation.methods import ground_truth
from starlib.evaluation.scoring import evaluate
from starlib.evaluation.stats import mean_ci95, summarize
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
