"""Flow-refinement U-Net ("FR", paper section 3.4, spec section 3.8).

Key names (``inc``, ``down1..``, ``up1..``, ``outc``; ``mpconv.1.conv.*``, ``conv.conv.*``) follow the
authors' ``autoencoder_v4.py`` so that their state dict maps onto ours. PyTorch default initialisation,
BatchNorm inside every double conv, as in the authors' code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CORRECTIONS = ("sigmoid", "tanh", "linear")


class DoubleConv(nn.Module):
    """[Conv3x3 -> BatchNorm -> ReLU] x 2; (B, a, H, W) -> (B, b, H, W)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class InConv(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = DoubleConv(c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Down(nn.Module):
    """MaxPool2 then DoubleConv: (B, a, H, W) -> (B, b, H//2, W//2)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.mpconv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(c_in, c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mpconv(x)


class Up(nn.Module):
    """Bilinear x2 (align_corners=True) of the deeper map, zero-pad to the skip's size, concat
    [skip, upsampled], DoubleConv."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = DoubleConv(c_in, c_out)

    def forward(self, deep: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        deep = F.interpolate(deep, scale_factor=2, mode="bilinear", align_corners=True)
        dy = skip.shape[-2] - deep.shape[-2]
        dx = skip.shape[-1] - deep.shape[-1]
        deep = F.pad(deep, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([skip, deep], 1))


class OutConv(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class FlowRefinementUNet(nn.Module):
    """U-Net that predicts a correction of a flow from the flow and the two frames.

    refine(flow, frame_a, frame_b): flow (B, 2, h, w) normalised, frames (B, 3, h, w) normalised;
    returns flow + correction(U(cat[flow, frame_a, frame_b])), (B, 2, h, w).

    ``correction="sigmoid"`` is the authors' code: the correction lies in (0, 1) normalised units
    (0..150 px, one-signed; about +0.5 at initialisation). ``"tanh"`` gives a signed (-1, 1) and
    ``"linear"`` an unbounded correction. Widths: ``width * 2**i`` for i < depth, the bottleneck keeps
    the deepest width (64..1024, 1024 at the paper's width 64 and depth 5).
    """

    def __init__(self, in_channels: int = 8, out_channels: int = 2, width: int = 64, depth: int = 5,
                 correction: str = "sigmoid") -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"U-Net depth must be >= 1, got {depth}")
        if correction not in CORRECTIONS:
            raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
        self.depth = depth
        self.correction = correction
        enc = [width * 2**i for i in range(depth)] + [width * 2 ** (depth - 1)]
        self.inc = InConv(in_channels, enc[0])
        for i in range(1, depth + 1):
            self.add_module(f"down{i}", Down(enc[i - 1], enc[i]))
        prev = enc[depth]
        for k in range(1, depth + 1):
            c_out = enc[depth - k - 1] if k < depth else width
            self.add_module(f"up{k}", Up(enc[depth - k] + prev, c_out))
            prev = c_out
        self.outc = OutConv(width, out_channels)

    @property
    def min_size(self) -> int:
        """Smallest input height/width the pooling pyramid accepts."""
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw U-Net output before the correction function: (B, in, h, w) -> (B, out, h, w)."""
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(f"flow-refinement U-Net of depth {self.depth} needs frames of at least "
                             f"{self.min_size}x{self.min_size} px, got {tuple(x.shape[-2:])}; "
                             f"use a smaller fr_depth or larger frames")
        skips = [self.inc(x)]                                       # (B, width, h, w)
        for i in range(1, self.depth + 1):
            skips.append(getattr(self, f"down{i}")(skips[-1]))      # (B, enc[i], h/2^i, w/2^i)
        y = skips[-1]
        for k in range(1, self.depth + 1):
            y = getattr(self, f"up{k}")(y, skips[self.depth - k])
        return self.outc(y)                                          # (B, out, h, w)

    def refine(self, flow: torch.Tensor, frame_a: torch.Tensor, frame_b: torch.Tensor) -> torch.Tensor:
        raw = self(torch.cat([flow, frame_a, frame_b], 1))          # (B, 2, h, w)
        if self.correction == "sigmoid":
            return flow + torch.sigmoid(raw)
        if self.correction == "tanh":
            return flow + torch.tanh(raw)
        return flow + raw
