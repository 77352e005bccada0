"""The CUDA paths agree with the CPU: network forward, a training step, and the enhance pipeline.

Skipped where torch sees no CUDA device (CI, the 2-core machines); run on a GPU machine with
``python -m pytest tests/test_cuda.py``. TF32 is switched off inside these tests so that fp32 means fp32;
the tolerances then only cover the different summation orders of cuDNN and the CPU kernels.
"""

import dataclasses

import numpy as np
import pytest
import torch

from starlib.data.images import read_rgb
from starlib.data.sources import toflow_frames
from starlib.infer.enhance import DEMO_ST, ENHANCE_MODES, Settings, enhance_frames, load_for_mode
from starlib.models import STARnet
from starlib.study.setup.profile import load_profile
from starlib.train import TrainConfig, train
from starlib.util.hardware import tf32_arithmetic

ST = ENHANCE_MODES["st"]

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(autouse=True)
def _no_tf32():
    with tf32_arithmetic(allowed=False):
        yield


def _inputs(h: int = 32, w: int = 48):
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(1, 3, h, w, generator=g), torch.rand(1, 3, h, w, generator=g)      # (1, 3, h, w)
    ff, fb = 0.02 * torch.randn(1, 2, h, w, generator=g), 0.02 * torch.randn(1, 2, h, w, generator=g)
    return a, b, ff, fb


@pytest.mark.parametrize("width", ["cpu", "paper"])
def test_forward_on_cuda_matches_the_cpu(width):
    torch.manual_seed(0)
    model = STARnet(load_profile(width).model).eval()
    x = _inputs()
    with torch.inference_mode():
        ref = model(*x)
        out = model.cuda()(*(t.cuda() for t in x))
    assert set(out) == set(ref)
    for k in ref:
        err = (out[k].float().cpu() - ref[k]).abs().max().item()
        scale = ref[k].abs().max().item()
        print(f"{width} {k}: max |cuda - cpu| = {err:.3g}, max |cpu| = {scale:.3g}")
        assert err <= 1e-3 * max(scale, 1.0), (k, err, scale)


class _Batches:
    def __init__(self, h: int = 16, w: int = 16):
        g = torch.Generator().manual_seed(1)
        self.item = {"hr": torch.rand(3, 3, 4 * h, 4 * w, generator=g), "lr": torch.rand(3, 3, h, w, generator=g),
                     "flow_fwd": torch.zeros(2, h, w), "flow_bwd": torch.zeros(2, h, w)}

    def batch(self, step, indices):
        return {k: v[None].expand(len(indices), *v.shape).clone() for k, v in self.item.items()}


def test_training_steps_on_cuda_follow_the_cpu(tmp_path):
    """Five Adamax steps from the same start give the same losses on both devices (strict fp32: training
    otherwise switches TF32 on)."""
    cfg_model = load_profile("smoke").model
    cfg = TrainConfig(objective="STAR", steps=5, batch_size=2, patch=0, lr=1e-3, log_every=1, checkpoint_every=5,
                      strict_fp32=True)
    cpu = train(cfg_model, cfg, _Batches(), "synthetic", runs_dir=tmp_path / "cpu", progress=False)
    gpu = train(cfg_model, cfg, _Batches(), "synthetic", runs_dir=tmp_path / "gpu", device="cuda", progress=False)
    assert len(cpu.log) == len(gpu.log) == 5
    for a, b in zip(cpu.log, gpu.log):
        assert float(b["total"]) == pytest.approx(float(a["total"]), rel=2e-3), (a, b)
    assert next(gpu.model.parameters()).device.type == "cuda"


def test_enhance_on_cuda_matches_the_cpu():
    root = toflow_frames()
    frames = [read_rgb(root / f"{i:02d}.png")[300:348, 600:664].copy() for i in (1, 2, 3)]
    model = load_for_mode(DEMO_ST, ST)[0]
    settings = Settings(tile=32, overlap=8)
    cpu = list(enhance_frames(iter(frames), model, ST, settings=settings, device="cpu"))
    gpu = list(enhance_frames(iter(frames), model, ST, settings=settings, device="cuda"))
    assert len(cpu) == len(gpu) == 5
    worst = max(int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in zip(cpu, gpu))
    assert worst <= 1, worst


def test_compiled_training_on_cuda_follows_eager(tmp_path):
    """torch.compile with inductor (issue 13, item 4) trains the same network as eager mode on the GPU."""
    cfg_model = load_profile("smoke").model
    cfg = TrainConfig(objective="STAR", steps=4, batch_size=2, patch=0, lr=1e-3, log_every=1, checkpoint_every=4,
                      strict_fp32=True)
    eager = train(cfg_model, cfg, _Batches(), "synthetic", runs_dir=tmp_path / "eager", device="cuda",
                  progress=False)
    compiled = train(cfg_model, dataclasses.replace(cfg, compile="inductor"), _Batches(), "synthetic",
                     runs_dir=tmp_path / "compiled", device="cuda", progress=False)
    assert len(eager.log) == len(compiled.log) == 4
    for a, b in zip(eager.log, compiled.log):
        assert float(b["total"]) == pytest.approx(float(a["total"]), rel=2e-3), (a, b)
