"""Three-level multi-scale residual lattice used by the HR T-SR path of Net_ST (spec section 2)."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvBlock, DeconvBlock, ResBlock


class PyramidModule(nn.Module):
    """(B, C, H, W) -> (B, C, H, W); H and W must be divisible by 4.

    Levels: 1 = full resolution, C channels (5 ResBlocks); 2 = 1/2, 2C (4); 3 = 1/4, 4C (3).
    Transitions ``down1``/``down2``/``up1``/``up2`` are shared by every crossing, all LeakyReLU(0.1).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        c1, c2, c3 = channels, 2 * channels, 4 * channels
        for i in range(1, 6):
            self.add_module(f"l1_{i}", ResBlock(c1, "lrelu"))
        for i in range(1, 5):
            self.add_module(f"l2_{i}", ResBlock(c2, "lrelu"))
        for i in range(1, 4):
            self.add_module(f"l3_{i}", ResBlock(c3, "lrelu"))
        self.down1 = ConvBlock(c1, c2, 4, 2, 1, "lrelu")
        self.down2 = ConvBlock(c2, c3, 4, 2, 1, "lrelu")
        self.up1 = DeconvBlock(c2, c1, 4, 2, 1, "lrelu")
        self.up2 = DeconvBlock(c3, c2, 4, 2, 1, "lrelu")
        self.final = ConvBlock(c1, c1, 3, 1, 1, "lrelu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] % 4 or x.shape[-1] % 4:
            raise ValueError(f"PyramidModule needs H and W divisible by 4, got {tuple(x.shape[-2:])}")
        a1 = self.l1_1(x)                                       # (B, C, H, W)
        b1 = self.l2_1(self.down1(a1))                          # (B, 2C, H/2, W/2)
        c1 = self.l3_1(self.down2(b1))                          # (B, 4C, H/4, W/4)
        a2 = self.l1_2(a1 + self.up1(b1))
        b2 = self.l2_2(b1 + self.down1(a2) + self.up2(c1))
        c2 = self.l3_2(c1 + self.down2(b2))
        a3 = self.l1_3(a2 + self.up1(b2))
        b3 = self.l2_3(b2 + self.down1(a3) + self.up2(c2))
        c3 = self.l3_3(c2 + self.down2(b3))
        a4 = self.l1_4(a3 + self.up1(b3))
        b4 = self.l2_4(b3 + self.down1(a4) + self.up2(c3))
        a5 = self.l1_5(a4 + self.up1(b4))
        return self.final(a5)
