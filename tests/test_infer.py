"""Inference: tiling matches a whole-frame forward, methods return uint8 outputs of the right sizes."""

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import random_pair, tiny_config
from starlib.data import load_window, ucf101_dvf
from starlib.evaluation.stats import paired_difference
from starlib.flow import FlowCache
from starlib.infer.runner import STARMethod, StageOneOutputs
from starlib.infer.tiling import tiled_forward
from starlib.models import STARnet
from starlib.paper.reference import paper_results
from starlib.util.seed import seed_everything


def test_tiles_stay_close_to_the_whole_frame():
    seed_everything(0)
    cfg = tiny_config(flow_refine=False, tsr_paths="lr")  # no global context: tiles see what the frame sees
    model = STARnet(cfg).eval()
    inputs = random_pair(40, 48)
    whole = tiled_forward(model, *inputs, tile=0)
    tiled = tiled_forward(model, *inputs, tile=24, overlap=8)
    for key in whole:
        assert tiled[key].shape == whole[key].shape
    # the receptive field makes tile borders differ; the overlap blending keeps the difference small
    diff = (tiled["sr_t"] - whole["sr_t"]).abs().mean() / whole["sr_t"].abs().mean()
    assert diff < 0.2


def test_single_tile_is_exact():
    seed_everything(0)
    model = STARnet(tiny_config()).eval()
    inputs = random_pair(16, 16)
    a = tiled_forward(model, *inputs, tile=0)
    b = tiled_forward(model, *inputs, tile=32)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("inputs,key,shape", [("lr", "sr_mid", (256, 256, 3)), ("hr", "hr_mid", (256, 256, 3))])
def test_star_method_outputs(tmp_path, inputs, key, shape):
    seed_everything(0)
    method = STARMethod(STARnet(tiny_config(global_residual=True)), FlowCache(tmp_path), inputs=inputs, tile=64)
    out = method(load_window(ucf101_dvf()[0]))
    assert out[key].dtype == np.uint8 and out[key].shape == shape


def test_net_s_only_method_has_s_sr_outputs_only(tmp_path):
    model = STARnet(tiny_config(net_s_only=True, flow_refine=False, use_motion=False))
    with pytest.raises(ValueError, match="no T-SR output; use inputs='lr'"):
        STARMethod(model, FlowCache(tmp_path), inputs="hr")
    with pytest.raises(ValueError, match="inputs must be 'lr' or 'hr'"):
        STARMethod(model, FlowCache(tmp_path), inputs="sr")
    out = STARMethod(model, FlowCache(tmp_path))(load_window(ucf101_dvf()[0]))
    assert list(out) == ["sr_t", "sr_t1"] and out["sr_t1"].shape == (256, 256, 3)


def test_stage_one_outputs_are_the_networks_aux_outputs_under_the_final_names(tmp_path):
    seed_everything(0)
    model = STARnet(tiny_config()).eval()   # without global_residual: the RGB heads are not zero at init
    method = STARMethod(model, FlowCache(tmp_path))
    stack = load_window(ucf101_dvf()[0])
    final, first = method(stack), StageOneOutputs(method)(stack)
    assert list(first) == list(final) == ["sr_t", "sr_mid", "sr_t1", "lr_mid"]
    aux = method.runner.run(stack.lr[0], stack.lr[-1], ("sr_mid_aux",))["sr_mid_aux"]
    assert np.array_equal(first["sr_mid"], aux)
    assert not np.array_equal(first["sr_mid"], final["sr_mid"])       # stage 2 changes the middle frame
    assert StageOneOutputs.key_suffix == "-stage1"                     # its own scores in the cache
    with pytest.raises(ValueError, match="LR-input"):
        StageOneOutputs(STARMethod(model, FlowCache(tmp_path), inputs="hr"))
    with pytest.raises(ValueError, match="needs a network with stage 2"):
        StageOneOutputs(STARMethod(STARnet(tiny_config(stage2=False)), FlowCache(tmp_path)))


def test_paired_difference_uses_per_item_differences():
    """(study.experiments.paired_summary is gone; its statistic is evaluation.stats.paired_difference and the
    paper's number comes from paper.reference.paper_results.)"""
    ours = pd.DataFrame({"dataset": ["ucf101"] * 3, "item": ["1", "11", "21"], "output": ["sr_t"] * 3,
                         "seconds": 0.1, "psnr": [30.0, 31.0, 35.0]})
    base = ours.assign(psnr=[29.0, 30.5, 34.0])
    gain, low, _, n = paired_difference(ours, base, "psnr")
    assert gain == pytest.approx((1.0 + 0.5 + 1.0) / 3) and n == 3
    assert low > 0  # paired: consistent gains, despite the spread between items
    paper = paper_results().query("table == 8 and method == 'STAR-S' and dataset == 'ucf101' and output == 'sr_t' "
                                  "and metric == 'psnr'")
    assert paper["value"].item() == pytest.approx(31.604)  # Table 8, STAR-S on UCF101
