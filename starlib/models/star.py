"""STARnet: joint space-time super-resolution (paper eqs (1)-(11), spec section 4).

Module attribute names follow the authors' code (``motion_feat``, ``motion``, ``motion_down``,
``interp_block``, ``t_net_hr``, ``t_net_lr``, ``motion_up_f``, ``motion_up_b``, ``reconstruction_h``,
``reconstruction_l``, ``flow_net``); Net_S lives at ``net_s`` (the authors' ``RBPN``).

Paper name -> attribute: Net_S = ``net_s``; Net_D = ``motion_down``; Net_M = ``motion_feat`` + ``motion``;
Net_ST = ``interp_block`` (LR->HR path) + ``t_net_hr`` (T-SR on S-HR) + ``t_net_lr`` (T-SR on S-LR);
Net_F = ``motion_up_f``; Net_B = ``motion_up_b``; Net_rec = ``reconstruction_h`` / ``reconstruction_l``;
Net_flow (FR) = ``flow_net``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from starlib.paper.outputs import NETWORK_OUTPUTS

from .blocks import ConvBlock, DeconvBlock, ResBlock, init_kaiming_, projection_geometry, res_stack
from .config import STARConfig
from .dbpn import DBPN
from .flow_refine import FlowRefinementUNet
from .pyramid import PyramidModule
from .rbpn import RBPN
from .warp import midpoint

#: Keys of the dict returned by :meth:`STARnet.forward`.
FINAL_OUTPUTS = NETWORK_OUTPUTS                                  # the vocabulary of starlib.paper.outputs
AUX_OUTPUTS = tuple(f"{name}_aux" for name in FINAL_OUTPUTS)   # stage-1 outputs


def build_net_s(cfg: STARConfig) -> nn.Module:
    """Net_S of the configured kind; every kind maps (target, [neighbour], [flow]) -> (rgb, H)."""
    if cfg.net_s == "rbpn":
        return RBPN(cfg.scale, cfg.base_filter, cfg.feat, cfg.num_stages, cfg.n_resblock,
                    num_frames=2, use_flow=cfg.use_flow, keep_unused_branch=cfg.keep_unused_rbpn_branch)
    return DBPN(cfg.scale, stem_width=cfg.base_filter, proj_width=cfg.feat, feat=cfg.feat,
                num_up=cfg.dbpn_num_up, dense=cfg.dbpn_dense,
                num_frames=2 if cfg.net_s == "dbpn_mi" else 1, use_flow=cfg.use_flow)


def _flow_net(cfg: STARConfig) -> FlowRefinementUNet:
    """The FR U-Net (PyTorch default init, as the authors; ``fr_identity_init``: its last conv at zero)."""
    net = FlowRefinementUNet(8, 2, cfg.fr_width, cfg.fr_depth, cfg.fr_correction)
    if cfg.fr_identity_init:
        with torch.no_grad():
            net.outc.conv.weight.zero_()
            net.outc.conv.bias.zero_()
    return net


class STARnet(nn.Module):
    """Space-Time-Aware multi-Resolution network.

    forward(lr_t, lr_t1, flow_fwd, flow_bwd):
        lr_t, lr_t1: (B, 3, h, w) frames at t and t+1, ImageNet-normalised.
        flow_fwd: (B, 2, h, w) F_{t->t+1}; flow_bwd: F_{t+1->t}; channels (u, v), normalised as in the
            authors' code (-clip(px, +-150) / 150). Omit both for a ``use_flow=False`` model.
    Returns a dict of tensors in ImageNet-normalised space (s = cfg.scale):
        ``sr_t``, ``sr_mid``, ``sr_t1``: (B, 3, s*h, s*w) final S-SR / ST-SR / S-SR outputs;
        ``lr_mid``: (B, 3, h, w) the in-between frame at input resolution (T-SR);
        ``*_aux``: the same four after stage 1 (S-SR aux = Net_S's own RGB head), weighted 0.4 in the loss;
        ``flow_fwd``, ``flow_bwd``: the flows used downstream (refined when FR is on), if flows are used.
    With ``cfg.net_s_only`` (the S-SR baselines) only ``sr_t`` and ``sr_t1`` (Net_S's RGB) are returned; with
    ``cfg.fr_only`` (the U-Net pretrained alone) only the refined ``flow_fwd`` and ``flow_bwd``.
    """

    def __init__(self, cfg: STARConfig | None = None) -> None:
        super().__init__()
        cfg = STARConfig() if cfg is None else cfg
        if not isinstance(cfg, STARConfig):
            raise TypeError(f"STARnet expects a STARConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        k, s, p = projection_geometry(cfg.scale)
        c_h, c_l, c_m = cfg.feat, cfg.lr_feat, cfg.motion_channels
        c_pair = 2 * c_l + c_m                                     # cat(L_a, L_b, M): 320 at paper widths

        if cfg.fr_only:                                             # stage (b): the FR U-Net and nothing else
            self.flow_net = _flow_net(cfg)
            return
        self.net_s = build_net_s(cfg)                               # initialised by its own constructor
        if cfg.net_s_only:                                          # S-SR baseline: Net_S and nothing else
            if cfg.global_residual:
                with torch.no_grad():
                    self.net_s.output.conv.weight.zero_()
                    self.net_s.output.conv.bias.zero_()
            return
        core: dict[str, nn.Module] = {}
        if cfg.use_motion:
            core["motion_feat"] = ConvBlock(4, cfg.base_filter, 3, 1, 1, "lrelu")
            core["motion"] = res_stack(cfg.base_filter, cfg.netm_resblocks, "lrelu",
                                       ConvBlock(cfg.base_filter, cfg.motion_feat, 3, 1, 1, "lrelu"))
        core["motion_down"] = res_stack(c_h, cfg.netd_resblocks, "lrelu", ConvBlock(c_h, c_l, k, s, p, "lrelu"))
        core["interp_block"] = res_stack(c_pair, cfg.n_resblock, "lrelu", DeconvBlock(c_pair, c_h, k, s, p, "lrelu"))
        if cfg.has_hr_tsr:
            core["t_net_hr"] = nn.Sequential(ConvBlock(2 * c_h + c_m, c_h, 1, 1, 0, "lrelu"),
                                             PyramidModule(c_h),
                                             ConvBlock(c_h, c_h, 3, 1, 1, "lrelu"))
        if cfg.has_lr_tsr:
            core["t_net_lr"] = res_stack(c_pair, cfg.tsr_lr_resblocks, "lrelu",
                                         ConvBlock(c_pair, c_l, 3, 1, 1, "lrelu"))
        if cfg.stage2:
            for name in ("motion_up_f", "motion_up_b"):
                core[name] = res_stack(c_pair, cfg.n_resblock, "lrelu", DeconvBlock(c_pair, c_h, k, s, p, "lrelu"))
        core["reconstruction_h"] = ConvBlock(c_h, 3, 3, 1, 1, "none")
        core["reconstruction_l"] = ConvBlock(c_l, 3, 3, 1, 1, "none")
        for name, module in core.items():
            self.add_module(name, init_kaiming_(module))
        if cfg.resblock_init_scale != 1.0:
            with torch.no_grad():
                for module in self.modules():
                    if isinstance(module, ResBlock):
                        module.conv2.weight.mul_(cfg.resblock_init_scale)
        if cfg.global_residual:  # start exactly at the baseline: zero the RGB heads that the baseline is added to
            heads = [self.reconstruction_h.conv, self.reconstruction_l.conv, self.net_s.output.conv]
            with torch.no_grad():
                for conv in heads:
                    conv.weight.zero_()
                    conv.bias.zero_()
        if cfg.flow_refine:                                         # PyTorch default init, as the authors
            self.flow_net = _flow_net(cfg)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Final outputs this network returns (Net_S-only baselines: the two S-SR frames; FR alone: none)."""
        if self.cfg.fr_only:
            return ()
        return ("sr_t", "sr_t1") if self.cfg.net_s_only else FINAL_OUTPUTS

    # --- helpers ---------------------------------------------------------------------------------
    def _rho(self, x: torch.Tensor) -> torch.Tensor:
        """Activation of the residual back-projection updates (eqs (6), (8), (11))."""
        return F.leaky_relu(x, 0.1) if self.cfg.backproj_act == "lrelu" else F.relu(x)

    def net_m(self, flow_fwd: torch.Tensor, flow_bwd: torch.Tensor) -> torch.Tensor:
        """Net_M: (B, 2, h, w) x 2 -> M (B, motion_feat, h, w)."""
        return self.motion(self.motion_feat(torch.cat([flow_fwd, flow_bwd], 1)))

    def _check_inputs(self, lr_t: torch.Tensor, lr_t1: torch.Tensor, flow_fwd: torch.Tensor | None,
                      flow_bwd: torch.Tensor | None) -> None:
        if lr_t.ndim != 4 or lr_t.shape[1] != 3:
            raise ValueError(f"lr_t must be (B, 3, h, w), got {tuple(lr_t.shape)}")
        if lr_t1.shape != lr_t.shape:
            raise ValueError(f"lr_t and lr_t1 must have the same shape, got {tuple(lr_t.shape)} "
                             f"and {tuple(lr_t1.shape)}")
        b, _, h, w = lr_t.shape
        if self.cfg.use_flow:
            for name, flow in (("flow_fwd", flow_fwd), ("flow_bwd", flow_bwd)):
                if flow is None:
                    raise ValueError(f"this STARnet uses flows (use_flow=True) but {name} is None")
                if tuple(flow.shape) != (b, 2, h, w):
                    raise ValueError(f"{name} must be {(b, 2, h, w)} to match the frames, got {tuple(flow.shape)}")
        elif flow_fwd is not None or flow_bwd is not None:
            raise ValueError("this STARnet was built with use_flow=False; call it without flows")
        if self.cfg.has_hr_tsr and (self.cfg.scale * h % 4 or self.cfg.scale * w % 4):
            raise ValueError(f"the HR T-SR path needs scale*h and scale*w divisible by 4, got "
                             f"{self.cfg.scale}x{(h, w)}; crop the frames or use tsr_paths='lr'/'none'")
        if self.cfg.flow_refine and min(h, w) < self.flow_net.min_size:
            raise ValueError(f"frames of {h}x{w} px are too small for the flow-refinement U-Net "
                             f"(depth {self.cfg.fr_depth} needs >= {self.flow_net.min_size} px)")

    # --- forward ---------------------------------------------------------------------------------
    def forward(self, lr_t: torch.Tensor, lr_t1: torch.Tensor, flow_fwd: torch.Tensor | None = None,
                flow_bwd: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        self._check_inputs(lr_t, lr_t1, flow_fwd, flow_bwd)
        out: dict[str, torch.Tensor] = {}

        # Stage 0: flow refinement (eq 14); refined flows replace the raw ones everywhere downstream.
        if cfg.flow_refine:
            flow_fwd = self.flow_net.refine(flow_fwd, lr_t, lr_t1)   # (B, 2, h, w)
            flow_bwd = self.flow_net.refine(flow_bwd, lr_t1, lr_t)
        if cfg.use_flow:
            out["flow_fwd"], out["flow_bwd"] = flow_fwd, flow_bwd
        if cfg.fr_only:
            return out

        # Stage 1, S-SR (eq 1): H_t, H_{t+1} (B, c_h, sh, sw), plus Net_S's own RGB (aux outputs).
        if not cfg.use_flow:
            flows_t: list[torch.Tensor] = []
            flows_t1: list[torch.Tensor] = []
        elif cfg.net_s_flow == "target_to_neighbour":
            flows_t, flows_t1 = [flow_fwd], [flow_bwd]
        else:
            flows_t, flows_t1 = [flow_bwd], [flow_fwd]
        s_t, h_t = self.net_s(lr_t, [lr_t1], flows_t)
        s_t1, h_t1 = self.net_s(lr_t1, [lr_t], flows_t1)
        if cfg.net_s_only:                                             # DBPN / DBPN-MI / RBPN alone
            out["sr_t"], out["sr_t1"] = s_t, s_t1
            if cfg.global_residual:
                self._add_input_baseline(out, lr_t, lr_t1, None, None)
            return out
        # eq 2: L_t, L_{t+1} (B, c_l, h, w)
        l_t, l_t1 = self.motion_down(h_t), self.motion_down(h_t1)
        # eq 3: M (B, c_m, h, w); stage 2 uses M on halved flows in the authors' code.
        motion: list[torch.Tensor] = []
        motion2: list[torch.Tensor] = []
        if cfg.use_motion:
            m = self.net_m(flow_fwd, flow_bwd)
            motion = [m]
            if cfg.stage2:
                motion2 = [self.net_m(flow_fwd / 2, flow_bwd / 2)] if cfg.stage2_motion == "half" else [m]

        # eq 4, Net_ST: LR->HR path, optional T-SR on S-HR and on S-LR.
        pair_in = torch.cat([l_t, l_t1] + motion, 1)                   # (B, 2c_l + c_m, h, w)
        h_mid = self.interp_block(pair_in)                             # (B, c_h, sh, sw)
        if cfg.has_hr_tsr:
            up_m = [F.interpolate(m, size=h_t.shape[-2:], mode="bilinear", align_corners=True)
                    for m in motion]
            h_tilde = self.t_net_hr(torch.cat([h_t, h_t1] + up_m, 1))  # (B, c_h, sh, sw)
            h_mid = h_mid + F.leaky_relu(h_mid - h_tilde, 0.1)
        l_mid = self.motion_down(h_mid)                                # (B, c_l, h, w)
        if cfg.has_lr_tsr:
            l_tilde = self.t_net_lr(pair_in)                           # (B, c_l, h, w)
            l_mid = l_mid + F.leaky_relu(l_mid - l_tilde, 0.1)

        out["sr_t_aux"], out["sr_t1_aux"] = s_t, s_t1
        out["sr_mid_aux"] = self.reconstruction_h(h_mid)
        out["lr_mid_aux"] = self.reconstruction_l(l_mid)

        # Stage 2: refinement by back-projection between t, t+n and t+1 (eqs 5-11).
        if cfg.stage2:
            def net_b(earlier: torch.Tensor, later: torch.Tensor) -> torch.Tensor:
                return self.motion_up_b(torch.cat([earlier, later] + motion2, 1))   # HR of `earlier`

            def net_f(earlier: torch.Tensor, later: torch.Tensor) -> torch.Tensor:
                return self.motion_up_f(torch.cat([earlier, later] + motion2, 1))   # HR of `later`

            rho = self._rho
            hb = net_b(l_t, l_mid)                                       # eqs 5-6
            h_t, l_t = h_t + rho(h_t - hb), l_t + rho(l_t - self.motion_down(hb))
            hf = net_f(l_mid, l_t1)                                      # eqs 7-8
            h_t1, l_t1 = h_t1 + rho(h_t1 - hf), l_t1 + rho(l_t1 - self.motion_down(hf))
            hf = net_f(l_t, l_mid)                                       # eq 9
            if cfg.stage2_update == "sequential":                        # authors' code
                h_mid, l_mid = h_mid + rho(h_mid - hf), l_mid + rho(l_mid - self.motion_down(hf))
                hb = net_b(l_mid, l_t1)                                  # eq 10 on the updated L_{t+n}
                h_mid, l_mid = h_mid + rho(h_mid - hb), l_mid + rho(l_mid - self.motion_down(hb))
            else:                                                        # paper eq 11: one parallel sum
                hb = net_b(l_mid, l_t1)
                h_mid, l_mid = (h_mid + rho(h_mid - hf) + rho(h_mid - hb),
                                l_mid + rho(l_mid - self.motion_down(hf)) + rho(l_mid - self.motion_down(hb)))

        # Stage 3: reconstruction.
        out["sr_t"] = self.reconstruction_h(h_t)
        out["sr_mid"] = self.reconstruction_h(h_mid)
        out["sr_t1"] = self.reconstruction_h(h_t1)
        out["lr_mid"] = self.reconstruction_l(l_mid)
        if cfg.global_residual:
            self._add_input_baseline(out, lr_t, lr_t1, flow_fwd, flow_bwd)
        return out

    def _add_input_baseline(self, out: dict[str, torch.Tensor], lr_t: torch.Tensor, lr_t1: torch.Tensor,
                            flow_fwd: torch.Tensor | None, flow_bwd: torch.Tensor | None) -> None:
        """Global residual (ours, off by default): outputs become corrections of bicubic upscaling (S-SR),
        frame averaging (T-SR) and both (ST-SR); with ``mid_base="warp"`` and flows, the middle frames'
        base is the inputs warped halfway along the flows (refined ones when FR is on) instead of their
        average. Bicubic interpolation and warping are linear with unit-sum weights, so they commute with the
        per-channel normalisation."""
        size = (lr_t.shape[-2] * self.cfg.scale, lr_t.shape[-1] * self.cfg.scale)
        up_t = F.interpolate(lr_t, size=size, mode="bicubic", align_corners=False)
        up_t1 = F.interpolate(lr_t1, size=size, mode="bicubic", align_corners=False)
        if self.cfg.mid_base == "warp" and flow_fwd is not None and flow_bwd is not None:
            mid_hr, mid_lr = midpoint(up_t, up_t1, flow_fwd, flow_bwd), midpoint(lr_t, lr_t1, flow_fwd, flow_bwd)
        else:
            mid_hr, mid_lr = (up_t + up_t1) / 2, (lr_t + lr_t1) / 2
        base = {"sr_t": up_t, "sr_t1": up_t1, "sr_mid": mid_hr, "lr_mid": mid_lr}
        for key, value in base.items():
            for name in (key, f"{key}_aux"):
                if name in out:
                    out[name] = out[name] + value


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (trainable or not; BatchNorm affine included, running stats excluded)."""
    return sum(p.numel() for p in module.parameters())


#: Paper component -> our attribute names (summed), in the order of the paper's figure 3.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "flow_net": ("flow_net",),
    "net_s": ("net_s",),
    "net_s.DBPN": ("net_s.DBPN",),
    "net_s.res_feat3": ("net_s.res_feat3",),
    "motion_down": ("motion_down",),
    "net_m": ("motion_feat", "motion"),
    "interp_block": ("interp_block",),
    "t_net_hr": ("t_net_hr",),
    "t_net_lr": ("t_net_lr",),
    "motion_up_f": ("motion_up_f",),
    "motion_up_b": ("motion_up_b",),
    "net_rec": ("reconstruction_h", "reconstruction_l"),
}


def component_parameter_counts(model: STARnet) -> dict[str, int]:
    """Parameters per paper component; components the config leaves out are omitted."""
    modules = dict(model.named_modules())
    counts = {}
    for component, names in COMPONENTS.items():
        present = [modules[n] for n in names if n in modules]
        if present:
            counts[component] = sum(count_parameters(m) for m in present)
    return counts
