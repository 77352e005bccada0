"""DBPN family: the back-projection stack, single-image DBPN and multi-image DBPN-MI.

Each network returns ``(rgb, feature)``: the RGB SR image and the HR feature map that STARnet uses as H_t,
so any of them can serve as Net_S.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .blocks import ConvBlock, DenseProjection, DownProjection, UpProjection, init_kaiming_


class BackProjectionStack(nn.Module):
    """1x1 entry conv, alternating up/down projections, 1x1 fusion of every HR map.

    (B, c_in, h, w) -> (B, c_out, s*h, s*w). With ``dense=False`` and 3 up units this is the DBPN-S
    block inside RBPN (keys ``feat1, up1, down1, up2, down2, up3, output`` as in the authors' code);
    with ``dense=True`` it is D-DBPN: from the second down unit on, every unit first fuses the
    concatenation of all earlier maps of the opposite resolution with a 1x1 conv.

    The HR maps are concatenated newest first, as in both of the authors' networks.
    """

    def __init__(self, c_in: int, width: int, c_out: int, num_up: int, scale: int,
                 dense: bool = False) -> None:
        super().__init__()
        if num_up < 1:
            raise ValueError(f"num_up must be >= 1, got {num_up}")
        self.num_up = num_up
        self.dense = dense
        self.feat1 = ConvBlock(c_in, width, 1, 1, 0, "prelu")
        for i in range(1, num_up + 1):
            if dense and i >= 3:
                self.add_module(f"up{i}", DenseProjection(width, i - 1, scale, "up"))
            else:
                self.add_module(f"up{i}", UpProjection(width, scale))
            if i < num_up:
                if dense and i >= 2:
                    self.add_module(f"down{i}", DenseProjection(width, i, scale, "down"))
                else:
                    self.add_module(f"down{i}", DownProjection(width, scale))
        self.output = ConvBlock(num_up * width, c_out, 1, 1, 0, "none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.feat1(x)                                      # (B, W, h, w)
        highs: list[torch.Tensor] = []                           # newest first, each (B, W, sh, sw)
        lows: list[torch.Tensor] = [low]                         # newest first, each (B, W, h, w)
        for i in range(1, self.num_up + 1):
            up = getattr(self, f"up{i}")
            up_in = torch.cat(lows, 1) if (self.dense and i >= 3) else lows[0]
            highs.insert(0, up(up_in))
            if i < self.num_up:
                down = getattr(self, f"down{i}")
                down_in = torch.cat(highs, 1) if (self.dense and i >= 2) else highs[0]
                new_low = down(down_in)
                if self.dense:
                    lows.insert(0, new_low)
                    if i == 1:  # D-DBPN keeps only the first down output, not the stem, in its LR list
                        lows.pop()
                else:
                    lows = [new_low]
        return self.output(torch.cat(highs, 1))                  # (B, c_out, sh, sw)


class DBPN(nn.Module):
    """DBPN (``num_frames=1``) or DBPN-MI (``num_frames>1``: frames and flows concatenated at the input).

    forward(target, neighbours, flows) with target (B, 3, h, w), each neighbour (B, 3, h, w) and each
    flow (B, 2, h, w) returns ``(rgb (B, 3, s*h, s*w), feature (B, feat, s*h, s*w))``.

    Our head differs from the authors' D-DBPN in one place: the concatenated HR maps are fused to a
    ``feat``-channel feature by a 1x1 conv, and the RGB image comes from a 3x3 conv on that feature
    (D-DBPN applies the 3x3 conv to the concatenation directly). This is what exposes a feature map
    for Net_S (spec section 3.2).
    """

    def __init__(self, scale: int = 4, stem_width: int = 256, proj_width: int = 64, feat: int = 64,
                 num_up: int = 7, dense: bool = True, num_frames: int = 1, use_flow: bool = True) -> None:
        super().__init__()
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        self.num_frames = num_frames
        self.use_flow = use_flow
        c_in = 3 * num_frames + (2 * (num_frames - 1) if use_flow else 0)
        self.feat0 = ConvBlock(c_in, stem_width, 3, 1, 1, "prelu")
        self.body = BackProjectionStack(stem_width, proj_width, feat, num_up, scale, dense)
        self.output = ConvBlock(feat, 3, 3, 1, 1, "none")
        init_kaiming_(self)

    def forward(self, target: torch.Tensor, neighbours: Sequence[torch.Tensor] = (),
                flows: Sequence[torch.Tensor] = ()) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [target]
        if self.num_frames > 1:
            if len(neighbours) != self.num_frames - 1 or (self.use_flow and len(flows) != len(neighbours)):
                raise ValueError(f"DBPN-MI with num_frames={self.num_frames} needs {self.num_frames - 1} "
                                 f"neighbours and as many flows, got {len(neighbours)} and {len(flows)}")
            for i, n in enumerate(neighbours):
                parts.append(n)
                if self.use_flow:
                    parts.append(flows[i])
        x = torch.cat(parts, 1) if len(parts) > 1 else target   # (B, c_in, h, w)
        feature = self.body(self.feat0(x))                      # (B, feat, sh, sw)
        return self.output(feature), feature
