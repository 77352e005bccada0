"""The small-budget switches of ours (off in the paper profile): a motion-warped base for the middle frames
(``mid_base="warp"``) and an FR U-Net that starts at the identity (``fr_identity_init``)."""

import pytest
import torch
import torch.nn.functional as F

from starlib.models import STARConfig, STARnet
from starlib.models.warp import backward_warp, midpoint
from starlib.util.config import ConfigError

TINY = dict(base_filter=8, feat=4, motion_feat=4, num_stages=1, n_resblock=1, netm_resblocks=1, netd_resblocks=1,
            tsr_lr_resblocks=1, fr_width=4, fr_depth=2, global_residual=True)


def _translation(shift: int = 4):
    """Frames a, b of a scene moving ``shift`` px right, their true midpoint, and the normalised flows."""
    torch.manual_seed(0)
    scene = torch.rand(1, 3, 40, 56)
    a, mid, b = (scene[..., 8:32, 12 - k:44 - k] for k in (0, shift // 2, shift))
    fwd = torch.zeros(1, 2, 24, 32)
    fwd[:, 0] = -shift / 150                             # +shift px in the authors' normalisation (-px / 150)
    return a, b, mid, fwd, -fwd


def test_the_midpoint_of_a_translation_is_the_true_middle_frame_and_the_average_is_not():
    a, b, mid, fwd, bwd = _translation()
    inner = (..., slice(4, -4), slice(4, -4))
    assert (midpoint(a, b, fwd, bwd) - mid)[inner].abs().max() < 1e-4
    assert ((a + b) / 2 - mid)[inner].abs().max() > 0.3
    assert torch.allclose(backward_warp(a, torch.zeros_like(fwd)), a, atol=1e-5)   # zero flow: the frame


def test_hr_frames_get_the_lr_flows_upscaled_to_their_pixels():
    a, b, mid, fwd, bwd = _translation(shift=4)
    up = lambda x: F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)   # noqa: E731
    err = (midpoint(up(a), up(b), fwd, bwd) - up(mid))[..., 16:-16, 16:-16].abs().max()
    assert err < 1e-4


def test_a_warp_base_network_starts_at_the_warped_midpoint_and_without_flows_at_the_average():
    a, b, mid, fwd, bwd = _translation()
    net = STARnet(STARConfig(**TINY, mid_base="warp", flow_refine=False)).eval()
    with torch.no_grad():
        out = net(a, b, fwd, bwd)
    assert torch.allclose(out["lr_mid"], midpoint(a, b, fwd, bwd), atol=1e-6)   # RGB heads start at zero
    up = lambda x: F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)   # noqa: E731
    assert torch.allclose(out["sr_mid"], midpoint(up(a), up(b), fwd, bwd), atol=1e-5)
    no_flow = STARnet(STARConfig(**TINY, mid_base="warp", use_flow=False, use_motion=False,
                                 flow_refine=False)).eval()
    with torch.no_grad():
        assert torch.allclose(no_flow(a, b)["lr_mid"], (a + b) / 2, atol=1e-6)   # "w/o Flow" removes the switch


def test_the_identity_fr_init_leaves_flows_unchanged_and_the_sigmoid_cannot_start_there():
    a, b, _, fwd, _ = _translation()
    net = STARnet(STARConfig(**TINY, fr_correction="tanh", fr_identity_init=True)).eval()
    with torch.no_grad():
        assert torch.equal(net.flow_net.refine(fwd, a, b), fwd)
    default = STARnet(STARConfig(**TINY, fr_correction="tanh")).eval()
    with torch.no_grad():
        assert (default.flow_net.refine(fwd, a, b) - fwd).abs().mean() > 1e-3   # the default init moves flows
    with pytest.raises(ConfigError, match="sigmoid"):
        STARConfig(**TINY, fr_identity_init=True)
    with pytest.raises(ConfigError, match="global_residual"):
        STARConfig(**{**TINY, "global_residual": False}, mid_base="warp")
