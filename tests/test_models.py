"""Networks: shapes for every variant, parameter counts against the spec, gradients, determinism."""

import pytest
import torch

from helpers import random_pair, tiny_config
from starlib.models import (AUX_OUTPUTS, DBPN, FINAL_OUTPUTS, RBPN, FlowRefinementUNet, STARConfig, STARnet,
                            component_parameter_counts, count_parameters)
from starlib.paper.reference import SPEC_PARAMETER_COUNTS, SPEC_TOTALS
from starlib.util.seed import seed_everything

# --- parameter counts at paper widths (spec section 3.9, derived from the authors' layer lists) -------

VARIANT_OF_AUTHORS_CLASS = {
    "FBPNSR_RBPN_V4": dict(flow_refine=False),            # STARnet w/o FR
    "FBPNSR_RBPN_V4_REF": dict(),                         # STARnet
    "FBPNSR_RBPN_V2": dict(flow_refine=False, tsr_paths="hr"),
    "FBPNSR_RBPN_V3": dict(flow_refine=False, tsr_paths="lr"),
}


def test_reference_totals_are_the_issue_numbers():
    assert SPEC_TOTALS["FBPNSR_RBPN_V4"] == 58_092_269 and SPEC_TOTALS["FBPNSR_RBPN_V4_REF"] == 111_610_863


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANT_OF_AUTHORS_CLASS))
def test_parameter_count_matches_authors_network(name):
    model = STARnet(STARConfig.paper(**VARIANT_OF_AUTHORS_CLASS[name]))
    assert count_parameters(model) == SPEC_TOTALS[name]


@pytest.mark.slow
def test_component_counts_match_spec():
    counts = component_parameter_counts(STARnet(STARConfig.paper()))
    assert counts == SPEC_PARAMETER_COUNTS


@pytest.mark.slow
def test_dropping_unused_rbpn_branch_removes_exactly_res_feat3():
    lean = STARnet(STARConfig.paper(flow_refine=False, keep_unused_rbpn_branch=False))
    assert count_parameters(lean) == SPEC_TOTALS["FBPNSR_RBPN_V4"] - SPEC_PARAMETER_COUNTS["net_s.res_feat3"]
    assert not hasattr(lean.net_s, "res_feat3")


def test_state_dict_uses_authors_key_layout():
    """Spec section 3.9 lists the authors' key names; ours match up to the Net_S prefix."""
    keys = set(STARnet(tiny_config()).state_dict())
    for key in ["net_s.feat0.conv.weight", "net_s.feat1.act.weight", "net_s.DBPN.feat1.conv.weight",
                "net_s.DBPN.up1.up_conv1.deconv.weight", "net_s.DBPN.down1.down_conv3.conv.bias",
                "net_s.DBPN.output.conv.weight", "net_s.res_feat1.0.conv1.weight", "net_s.res_feat1.1.deconv.weight",
                "net_s.res_feat3.1.conv.weight", "net_s.output.conv.weight",
                "motion_feat.conv.weight", "motion.0.conv2.weight", "motion.1.conv.weight",
                "motion_down.1.conv.weight", "interp_block.1.deconv.weight",
                "t_net_hr.0.conv.weight", "t_net_hr.1.l3_3.conv1.weight", "t_net_hr.1.down2.conv.weight",
                "t_net_hr.1.final.conv.weight", "t_net_hr.2.conv.weight", "t_net_lr.1.conv.weight",
                "motion_up_f.1.deconv.weight", "motion_up_b.0.conv1.weight",
                "reconstruction_h.conv.weight", "reconstruction_l.conv.weight",
                "flow_net.inc.conv.conv.0.weight", "flow_net.down1.mpconv.1.conv.1.running_mean",
                "flow_net.up1.conv.conv.4.weight", "flow_net.outc.conv.weight"]:
        assert key in keys, key


# --- shapes for every variant ----------------------------------------------------------------------

VARIANTS = {
    "full": dict(),
    "w/o stage 2": dict(stage2=False),
    "w/o flow": dict(use_flow=False, use_motion=False, flow_refine=False),
    "w/o Net_M": dict(use_motion=False),
    "w/o FR": dict(flow_refine=False),
    "tsr none": dict(tsr_paths="none"),
    "tsr hr": dict(tsr_paths="hr"),
    "tsr lr": dict(tsr_paths="lr"),
    "Net_S DBPN": dict(net_s="dbpn"),
    "Net_S DBPN non-dense": dict(net_s="dbpn", dbpn_dense=False),
    "Net_S DBPN-MI": dict(net_s="dbpn_mi"),
    "paper stage 2": dict(stage2_update="parallel", stage2_motion="full", backproj_act="relu",
                          net_s_flow="neighbour_to_target"),
    "FR tanh": dict(fr_correction="tanh"),
    "FR linear": dict(fr_correction="linear"),
    "lean RBPN": dict(keep_unused_rbpn_branch=False),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("size", [(16, 24), (17, 23)], ids=["even", "odd"])
def test_output_shapes_every_variant(variant, size, seeded):
    cfg = tiny_config(**VARIANTS[variant])
    model = STARnet(cfg)
    h, w = size
    lr_t, lr_t1, ff, fb = random_pair(h, w, batch=2)
    flows = (ff, fb) if cfg.use_flow else (None, None)
    out = model(lr_t, lr_t1, *flows)
    for key in ("sr_t", "sr_mid", "sr_t1", "sr_t_aux", "sr_mid_aux", "sr_t1_aux"):
        assert out[key].shape == (2, 3, 4 * h, 4 * w), key
    for key in ("lr_mid", "lr_mid_aux"):
        assert out[key].shape == (2, 3, h, w), key
    if cfg.use_flow:
        assert out["flow_fwd"].shape == out["flow_bwd"].shape == (2, 2, h, w)
    else:
        assert "flow_fwd" not in out
    assert all(torch.isfinite(v).all() for v in out.values())


@pytest.mark.parametrize("scale,size", [(2, (18, 22)), (8, (9, 11))])
def test_other_scales(scale, size, seeded):
    model = STARnet(tiny_config(scale=scale))
    h, w = size
    out = model(*random_pair(h, w))
    assert out["sr_mid"].shape == (1, 3, scale * h, scale * w)
    assert out["lr_mid"].shape == (1, 3, h, w)


def test_flow_refinement_changes_flows_by_a_positive_sigmoid_correction(seeded):
    model = STARnet(tiny_config())
    lr_t, lr_t1, ff, fb = random_pair(16, 16)
    out = model(lr_t, lr_t1, ff, fb)
    delta = out["flow_fwd"] - ff
    assert (delta > 0).all() and (delta < 1).all()  # the authors' one-signed correction (spec 8.3.2)
    no_fr = STARnet(tiny_config(flow_refine=False))(lr_t, lr_t1, ff, fb)
    assert torch.equal(no_fr["flow_fwd"], ff)


def test_stage2_switch_changes_only_the_final_outputs(seeded):
    """Without stage 2 the final outputs are Net_rec of the stage-1 features."""
    cfg = tiny_config(stage2=False)
    model = STARnet(cfg).eval()
    out = model(*random_pair(16, 16))
    assert torch.equal(out["sr_mid"], out["sr_mid_aux"])
    assert torch.equal(out["lr_mid"], out["lr_mid_aux"])
    assert not hasattr(model, "motion_up_f")


def test_sequential_and_parallel_stage2_differ(seeded):
    inputs = random_pair(16, 16)
    seed_everything(1)
    seq = STARnet(tiny_config(flow_refine=False))
    par = STARnet(tiny_config(flow_refine=False, stage2_update="parallel"))
    par.load_state_dict(seq.state_dict())
    a, b = seq(*inputs), par(*inputs)
    assert torch.equal(a["sr_t"], b["sr_t"])          # t and t+1 updates are the same in both
    assert not torch.allclose(a["sr_mid"], b["sr_mid"])  # the t+n update is not


# --- gradients -------------------------------------------------------------------------------------

#: Parameters the authors' network holds but never uses (spec 3.1 and 8.3.7).
DOCUMENTED_UNUSED = ("net_s.res_feat3.",)


@pytest.mark.parametrize("variant", ["full", "Net_S DBPN-MI", "paper stage 2", "w/o flow"])
def test_every_parameter_receives_a_gradient(variant, seeded):
    cfg = tiny_config(**VARIANTS[variant])
    model = STARnet(cfg).train()
    lr_t, lr_t1, ff, fb = random_pair(16, 20, batch=2)
    out = model(lr_t, lr_t1, *((ff, fb) if cfg.use_flow else (None, None)))
    sum(v.abs().mean() for v in out.values()).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    unexplained = [n for n in no_grad if not n.startswith(DOCUMENTED_UNUSED)]
    assert unexplained == []
    if cfg.net_s == "rbpn":
        assert no_grad, "res_feat3 is expected to be unused with two frames"


# --- determinism -----------------------------------------------------------------------------------

def test_same_seed_gives_bitwise_equal_outputs():
    inputs = random_pair(16, 16)
    outs = []
    for _ in range(2):
        seed_everything(123)
        outs.append(STARnet(tiny_config()).eval()(*inputs))
    for key in FINAL_OUTPUTS + AUX_OUTPUTS:
        assert torch.equal(outs[0][key], outs[1][key]), key
    seed_everything(124)
    other = STARnet(tiny_config()).eval()(*inputs)
    assert not torch.equal(other["sr_mid"], outs[0]["sr_mid"])


# --- building blocks as stand-alone networks --------------------------------------------------------

def test_rbpn_with_more_frames():
    net = RBPN(scale=4, base_filter=16, feat=8, num_stages=2, n_resblock=1, num_frames=4)
    x = torch.randn(1, 3, 12, 12)
    rgb, feat = net(x, [torch.randn_like(x)] * 3, [torch.randn(1, 2, 12, 12)] * 3)
    assert rgb.shape == (1, 3, 48, 48) and feat.shape == (1, 8, 48, 48)
    with pytest.raises(ValueError, match="needs 3 neighbours"):
        net(x, [x], [torch.randn(1, 2, 12, 12)])


def test_dbpn_and_dbpn_mi_return_rgb_and_feature():
    x = torch.randn(1, 3, 10, 14)
    rgb, feat = DBPN(scale=4, stem_width=16, proj_width=8, feat=8, num_up=4)(x)
    assert rgb.shape == (1, 3, 40, 56) and feat.shape == (1, 8, 40, 56)
    mi = DBPN(scale=4, stem_width=16, proj_width=8, feat=8, num_up=3, num_frames=2)
    assert mi.feat0.conv.in_channels == 8  # target 3 + neighbour 3 + flow 2
    rgb, feat = mi(x, [x], [torch.zeros(1, 2, 10, 14)])
    assert rgb.shape == (1, 3, 40, 56)


@pytest.mark.slow
def test_paper_ddbpn_size():
    """D-DBPN (T=7, 4x) is reported at about 10.4 M parameters (DBPN paper, Haris et al. 2018)."""
    assert 10.3e6 < count_parameters(DBPN(num_up=7, dense=True)) < 10.5e6


def test_unet_handles_odd_sizes_and_rejects_tiny_frames():
    unet = FlowRefinementUNet(width=4, depth=3)
    assert unet(torch.randn(1, 8, 17, 23)).shape == (1, 2, 17, 23)
    with pytest.raises(ValueError, match="at least 8x8"):
        unet(torch.randn(1, 8, 7, 30))


# --- paper widths on CPU ---------------------------------------------------------------------------

@pytest.mark.slow
def test_paper_width_forward_on_one_vimeo_sized_pair():
    seed_everything(0)
    model = STARnet(STARConfig.paper()).eval()
    lr_t, lr_t1, ff, fb = random_pair(64, 112)
    with torch.no_grad():
        out = model(lr_t, lr_t1, ff, fb)
    assert out["sr_mid"].shape == (1, 3, 256, 448)
    assert out["lr_mid"].shape == (1, 3, 64, 112)
    assert all(torch.isfinite(v).all() for v in out.values())


# --- our additions (off by default) ---------------------------------------------------------------

def test_global_residual_starts_exactly_at_the_input_baseline(seeded):
    import torch.nn.functional as F

    model = STARnet(tiny_config(global_residual=True)).eval()
    lr_t, lr_t1, ff, fb = random_pair(16, 20)
    out = model(lr_t, lr_t1, ff, fb)
    up_t = F.interpolate(lr_t, scale_factor=4, mode="bicubic", align_corners=False)
    up_t1 = F.interpolate(lr_t1, scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.allclose(out["sr_t"], up_t, atol=1e-6) and torch.allclose(out["sr_t_aux"], up_t, atol=1e-6)
    assert torch.allclose(out["sr_mid"], (up_t + up_t1) / 2, atol=1e-6)
    assert torch.allclose(out["lr_mid"], (lr_t + lr_t1) / 2, atol=1e-6)
    # and it still learns: after one step (zero heads pass no gradient on at first) every parameter except
    # the documented unused ones gets a gradient
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        sum(v.abs().mean() for v in model(lr_t, lr_t1, ff, fb).values()).backward()
        opt.step()
    silent = [n for n, p in model.named_parameters()
              if (p.grad is None or p.grad.abs().sum() == 0) and not n.startswith(DOCUMENTED_UNUSED)]
    assert silent == []


def test_resblock_init_scale_shrinks_untrained_outputs():
    inputs = random_pair(16, 16)
    stds = []
    for scale in (1.0, 0.1):
        seed_everything(0)
        out = STARnet(tiny_config(resblock_init_scale=scale)).eval()(*inputs)
        stds.append(float(out["sr_mid"].std()))
    assert stds[1] < stds[0] / 5
    with pytest.raises(ValueError, match="resblock_init_scale must be in \\(0, 1\\]"):
        tiny_config(resblock_init_scale=0.0)
