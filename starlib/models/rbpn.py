"""RBPN (recurrent back-projection network) with a configurable number of frames (spec section 3.1)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .blocks import ConvBlock, DeconvBlock, init_kaiming_, projection_geometry, res_stack
from .dbpn import BackProjectionStack


class RBPN(nn.Module):
    """RBPN as modified by STARnet: returns the RGB SR image *and* the last HR feature map.

    forward(target, neighbours, flows): target (B, 3, h, w); ``num_frames - 1`` neighbours (B, 3, h, w)
    and flows (B, 2, h, w), flow i pointing from the target to neighbour i (normalised units).
    Returns ``(rgb (B, 3, s*h, s*w), feature (B, feat, s*h, s*w))``.

    With ``num_frames=2`` the authors' ``res_feat3`` projection is built but its output is never used
    (about 1.42 M dead parameters at paper widths). ``keep_unused_branch=True`` keeps it for parameter
    and state-dict parity with the authors' network; it is not computed, since nothing reads it.
    """

    def __init__(self, scale: int = 4, base_filter: int = 256, feat: int = 64, num_stages: int = 3,
                 n_resblock: int = 5, num_frames: int = 2, use_flow: bool = True,
                 keep_unused_branch: bool = True) -> None:
        super().__init__()
        if num_frames < 2:
            raise ValueError(f"RBPN needs num_frames >= 2 (a target and a neighbour), got {num_frames}")
        k, s, p = projection_geometry(scale)
        self.num_frames = num_frames
        self.use_flow = use_flow
        self.feat0 = ConvBlock(3, base_filter, 3, 1, 1, "prelu")
        self.feat1 = ConvBlock(8 if use_flow else 6, base_filter, 3, 1, 1, "prelu")
        self.DBPN = BackProjectionStack(base_filter, feat, feat, num_stages, scale, dense=False)
        self.res_feat1 = res_stack(base_filter, n_resblock, "prelu",
                                   DeconvBlock(base_filter, feat, k, s, p, "prelu"))
        self.res_feat2 = res_stack(feat, n_resblock, "prelu", ConvBlock(feat, feat, 3, 1, 1, "prelu"))
        if num_frames > 2 or keep_unused_branch:
            self.res_feat3 = res_stack(feat, n_resblock, "prelu",
                                       ConvBlock(feat, base_filter, k, s, p, "prelu"))
        self.output = ConvBlock((num_frames - 1) * feat, 3, 3, 1, 1, "none")
        init_kaiming_(self)

    def forward(self, target: torch.Tensor, neighbours: Sequence[torch.Tensor],
                flows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        n_nb = self.num_frames - 1
        if len(neighbours) != n_nb or (self.use_flow and len(flows) != n_nb):
            raise ValueError(f"RBPN with num_frames={self.num_frames} needs {n_nb} neighbours and "
                             f"{n_nb} flows, got {len(neighbours)} and {len(flows)}")
        feat_input = self.feat0(target)                           # (B, base, h, w)
        hr_maps: list[torch.Tensor] = []
        for i in range(n_nb):
            h0 = self.DBPN(feat_input)                            # (B, feat, sh, sw) single-image branch
            pair = [target, neighbours[i]] + ([flows[i]] if self.use_flow else [])
            h1 = self.res_feat1(self.feat1(torch.cat(pair, 1)))  # (B, feat, sh, sw) multi-image branch
            h = h0 + self.res_feat2(h0 - h1)                      # back-projected residual fusion
            hr_maps.append(h)
            if i < n_nb - 1:
                feat_input = self.res_feat3(h)                    # (B, base, h, w) for the next neighbour
        rgb = self.output(torch.cat(hr_maps, 1))                  # (B, 3, sh, sw)
        return rgb, hr_maps[-1]
