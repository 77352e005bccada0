"""benchmarks/bench.py --quick: every measurement is there, ratios are positive and finite, provenance columns."""

import importlib.util
import math

import pandas as pd

from starlib.published.weights import BASICVSR_VIMEO90K_BI, RIFE_V4_0
from starlib.util.paths import REPO_ROOT


def load_bench():
    spec = importlib.util.spec_from_file_location("bench", REPO_ROOT / "benchmarks" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_writes_the_csv(tmp_path):
    bench = load_bench()
    out = tmp_path / "benchmarks.csv"
    bench.run(profile="smoke", out=out, quick=True, threads=1)
    frame = pd.read_csv(out)
    for col in (*bench.COLUMNS, "profile", "git_commit", "machine", "torch_threads", "wall_time_s"):
        assert col in frame.columns, col
    assert frame.complete.all()                                        # the last write marks the file whole
    published = BASICVSR_VIMEO90K_BI.package_dir() is not None and RIFE_V4_0.package_dir() is not None
    assert set(frame.measurement) == {"forward_output_fps", "forward_peak_rss_mib", "flow_pair_seconds",
                                      "clip_output_fps", "clip_max_abs_diff", "matmul_gflop_per_s",
                                      "network_gflop_per_s", "train_step_seconds", "train_gflop_per_s",
                                      "enhance_peak_rss_mib"} | ({"seconds_per_output_frame"} if published else set())
    if published:      # (g): BasicVSR, RIFE, a cascade, as ratios to STAR-ST measured in the same run
        per_frame = frame[frame.measurement == "seconds_per_output_frame"].set_index("config")
        assert {c.split(",")[0] for c in per_frame.index} == {"STAR-ST", "BasicVSR", "RIFE", "BasicVSR -> RIFE"}
        assert (per_frame.ratio_of == "STAR-ST, smoke widths").all() and per_frame.ratio.iloc[0] == 1.0
    assert set(frame[frame.measurement == "flow_pair_seconds"].config.str.split(",").str[0]) == set(bench.BACKENDS)
    ratios = frame.ratio.dropna()
    assert len(ratios) == len(frame) - (frame.measurement == "clip_max_abs_diff").sum()
    assert all(math.isfinite(r) and r > 0 for r in ratios)
    assert (frame.value >= 0).all() and (frame.torch_threads == 1).all() and (frame.profile == "smoke").all()
    assert frame.device.str.startswith("cpu").all()
    step = frame[frame.measurement == "train_step_seconds"]
    assert len(step) == 1 and "smoke widths" in step.config.iloc[0] and "schedule" in step.notes.iloc[0]
    rate = frame[frame.measurement == "train_gflop_per_s"]
    assert len(rate) == 1 and rate.ratio_of.iloc[0].startswith("torch.mm fp32")
    # the pipeline's fp32 paths reproduce the reference; bf16 may differ a little
    diffs = frame[frame.measurement == "clip_max_abs_diff"].set_index("config").value
    assert all(v <= 1 for k, v in diffs.items() if "bf16" not in k)


def test_training_step_alternatives_real_data_and_threads():
    import torch

    bench = load_bench()
    before = torch.get_num_threads()
    real = bench.train_step_seconds("smoke", 1, "cpu", (16, 16), data="real", threads=1, channels_last=True)
    assert real["seconds"] > 0 and real["data"] == "real" and real["threads"] == 1 and real["channels_last"]
    assert torch.get_num_threads() == before                       # restored after the measurement
    assert {"channels_last", "threads", "batch_size", "patch", "data"} == {k for a in bench.CPU_TRAIN_ALTERNATIVES
                                                                           for k in a}
    # issue 13 item 4: every speed switch is timed on CUDA, at gpu and paper widths, and is a TrainConfig field
    from starlib.train import TrainConfig
    for width in ("gpu", "paper"):
        assert all(alt in bench.TRAIN_ALTERNATIVES[width] for alt in bench.SPEED_SWITCHES)
    for alt in bench.SPEED_SWITCHES:
        TrainConfig(**alt)


def test_training_flops_count_forward_and_backward():
    from starlib.models import STARnet
    from starlib.models.flops import count_flops, count_train_flops
    from starlib.study.setup.profile import load_profile

    assert load_bench().count_train_flops is count_train_flops    # the bench counts with the library's
    cfg = load_profile("smoke").model
    model = STARnet(cfg)
    one, two = count_train_flops(cfg, (16, 16), 1), count_train_flops(cfg, (16, 16), 2)
    forward = count_flops(model, (16, 16))
    assert two == 2 * one and 2.5 * forward < one < 3.5 * forward     # backward ~ 2x forward


def test_static_inputs_scores_finished_runs_only(tmp_path):
    import importlib.util as iu

    from helpers import tiny_config
    from starlib.models import STARnet, save_checkpoint
    from starlib.study.trainings.plans import run_name
    from starlib.study.trainings.recipes import Training
    from starlib.study.setup.workspace import Workspace

    spec = iu.spec_from_file_location("static_inputs", REPO_ROOT / "benchmarks" / "static_inputs.py")
    module = iu.module_from_spec(spec)
    spec.loader.exec_module(module)
    ws = Workspace.create("smoke", runs_dir=tmp_path, progress=False)
    rows = module.run("smoke", str(tmp_path), 2, cache_dir=str(tmp_path / "cache"))
    assert [r["method"] for r in rows] == ["Bicubic"]                 # nothing finished: nothing trained either
    name = run_name(ws, Training("STAR-T_LR"))
    save_checkpoint(STARnet(tiny_config(global_residual=True)), ws.runs / name / "model.pt")
    rows = module.run("smoke", str(tmp_path), 2, cache_dir=str(tmp_path / "cache"))
    lr = next(r for r in rows if r["method"] == "STAR-T_LR" and r["output"] == "lr_mid")
    assert lr["run"] == name and lr["psnr_mean"] > 30                  # zero-initialised heads: near the input
    assert not (ws.runs / run_name(ws, Training("STAR")) / "model.pt").exists()


def test_static_training_scores_the_study_run_and_each_static_fraction(tmp_path):
    import importlib.util as iu
    import json

    from starlib.models import STARnet, save_checkpoint
    from starlib.study.trainings.plans import run_name
    from starlib.study.trainings.recipes import Training
    from starlib.study.setup.workspace import Workspace

    spec = iu.spec_from_file_location("static_training", REPO_ROOT / "benchmarks" / "static_training.py")
    module = iu.module_from_spec(spec)
    spec.loader.exec_module(module)
    ws = Workspace.create("smoke", runs_dir=tmp_path, cache_dir=tmp_path / "cache", progress=False)
    save_checkpoint(STARnet(ws.profile.model), ws.runs / run_name(ws, Training("STAR")) / "model.pt")  # the parent
    rows = module.run("smoke", (1.0,), str(tmp_path), str(tmp_path / "cache"), static_items=2)
    runs = {r["method"]: r["run"] for r in rows}
    assert len(runs) == 2 and len(set(runs.values())) == 2             # the study's run and the variant's
    variant = next(r for r in rows if r["static_items"] == 1.0)["run"]
    assert json.loads((ws.runs / variant / "config.json").read_text())["train"]["static_items"] == 1.0
    for method in runs:
        mine = [r for r in rows if r["method"] == method]
        assert {r["dataset"] for r in mine if r["items"] == "all"} == set(module.test_benchmarks(ws.profile))
        static = [r for r in mine if r["items"].startswith("static input")]
        assert len(static) == 1 and static[0]["n"] == 2 and static[0]["psnr"] > 0
