"""Every figure function draws without clipped or overlapping text (fit for a paper): each is rendered with
small synthetic data shaped like the study's (titles as long as the notebooks'), and every drawn text's window
extent is compared with the canvas and with the other texts (starlib.study.tables.figures.text_layout_problems)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from starlib.data.samples import FrameStack  # noqa: E402
from starlib.study.tables import figures as F  # noqa: E402
from starlib.util.paths import REPO_ROOT  # noqa: E402

RNG = np.random.default_rng(0)
STAMP = "profile=cpu run=STAR-T_LR-c57482ad88 commit=40312b5e49f3 middlebury/Walking output=sr_mid"


def _img(h=96, w=128):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _stack(name="Walking"):
    return FrameStack(name, [_img(128, 192) for _ in range(3)], [_img(32, 48) for _ in range(3)])


def _per_item(method, shift):
    rows = []
    for dataset, n in (("middlebury", 12), ("ucf101", 60)):
        for i in range(n):
            for output in ("sr_mid", "lr_mid"):
                floor = 28 + 22 * i / n
                rows.append({"method": method, "dataset": dataset, "item": f"{dataset}-{i}", "output": output,
                             "psnr": floor + shift * (1 - i / n) + RNG.normal(0, 0.3)})
    return pd.DataFrame(rows)


def sample_grid():
    flow = RNG.normal(0, 0.01, (32, 48, 2))
    return F.sample_grid([_stack(), _stack(), _stack()], [flow] * 3,
                         ["Middlebury Walking", "UCF101 1234", "DAVIS bmx-trees-00012 (train)"])


def error_grid():
    gt = _img()
    preds = {"Bicubic + averaging": _img(), "RBPN -> flow interpolation (DAIN stand-in)": _img(),
             "STAR-ST (ours, cpu profile)": _img()}
    return F.error_grid(gt, preds, "Fig. 6, ST-SR (I_t+^sr) on middlebury/Walking: output, zoom and absolute error")


def flow_panels():
    flows = {name: RNG.normal(0, 1, (40, 48, 2)) for name in
             ("(a) flow from I_t, I_t+1", "(b) refined by FR", "(c) through the true I_t+")}
    frames = {"I_t+^sr w/o FR: crop 22.28 dB, frame 30.62 dB": _img(96, 96),
              "I_t+^sr with FR: crop 22.27 dB, frame 30.59 dB": _img(96, 96),
              "ground truth (crop y=96 x=208, 96 px)": _img(96, 96)}
    return F.flow_panels(flows, frames, "Fig. 5, Walking: flows F_t->t+1 on the LR frames, and I_t+^sr where the "
                                        "model without FR errs most")


def training_curves():
    log = [{"step": s, "total": 1 / (s + 1) + 0.01, "lr": 1e-4 if s < 200 else 1e-5} for s in range(400)]
    val = [{"step": s, "output": o, "psnr": 27 + s / 400, "baseline_psnr": 26.5} for s in range(0, 400, 100)
           for o in ("sr_t", "sr_mid", "sr_t1", "lr_mid")]
    return F.training_curves(log, val, "STAR-T_LR (cpu profile): training loss and validation")


@pytest.mark.parametrize("outputs", [["lr_mid"], ["sr_mid", "lr_mid"]], ids=["one panel", "two panels"])
def test_gain_by_item_fits(outputs):
    fig = F.gain_by_item(_per_item("STAR-T_LR", 2.0), _per_item("floor", 0.0), outputs,
                         "STAR-T_LR (cpu profile): per-item PSNR gain over bicubic upscaling + frame averaging")
    _check(fig)


def claims_figure():
    from starlib.study.tables.claims import claims_figure

    claims = pd.read_csv(REPO_ROOT / "results" / "cpu" / "claims.csv")
    return claims_figure(claims, "Paper claims at profile cpu, by effect size")


def scaling_figure():
    from starlib.study.tables.scaling_figure import scaling_figure

    results = REPO_ROOT / "results" / "cpu"
    return scaling_figure(pd.read_csv(results / "scaling.csv"), pd.read_csv(results / "scaling_validation.csv"),
                          "Claims against training compute, profile cpu")


def _check(fig):
    F.stamp(fig, STAMP)
    try:
        problems = F.text_layout_problems(fig)
    finally:
        plt.close(fig)
    assert not problems, problems


@pytest.mark.parametrize("draw", [sample_grid, error_grid, flow_panels, training_curves, claims_figure,
                                  scaling_figure],
                         ids=lambda f: f.__name__)
def test_figure_text_stays_on_the_canvas_and_apart(draw):
    _check(draw())


def test_the_check_sees_clipped_and_overlapping_text():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_title("a title far too long to fit a figure two inches wide, cut at both ends")
    ax.text(0.5, 0.5, "here", transform=ax.transAxes)
    ax.text(0.5, 0.5, "here too", transform=ax.transAxes)
    problems = F.text_layout_problems(fig)
    plt.close(fig)
    assert any("leaves the canvas" in p for p in problems) and any("overlaps" in p for p in problems)


def test_wrapped_breaks_at_spaces_and_marks_what_it_leaves_out():
    assert F.wrapped("short", 3, 10) == "short"
    text = F.wrapped("a long title " * 10, 2, 10, max_lines=2)
    assert text.count("\n") == 1 and text.endswith("…") and "titl\n" not in text


@pytest.mark.slow
def test_redraw_tool_draws_the_committed_figures_it_can_from_the_csvs(tmp_path):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "redraw_figures.py"), "--profile", "cpu",
                          "--out", str(tmp_path), "--allow-dirty"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"claims.png", "star_gain_by_item.png", "star_st_gain_by_item.png",
                                                    "star_t_lr_gain_by_item.png", "star_t_hr_gain_by_item.png"}
