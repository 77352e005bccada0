"""Building blocks shared by DBPN, RBPN and STARnet (spec section 2).

Attribute names (``conv``, ``deconv``, ``act``, ``conv1``/``conv2``, ``up_conv1..3``, ``down_conv1..3``)
follow the authors' code so that state-dict keys line up with theirs. No block has a normalisation layer.
"""

from __future__ import annotations

import torch
from torch import nn

#: Projection kernel, stride and padding per scale factor (exact x s up/down when the size allows).
PROJECTION_GEOMETRY: dict[int, tuple[int, int, int]] = {2: (6, 2, 2), 4: (8, 4, 2), 8: (12, 8, 2)}

ACTIVATIONS = ("prelu", "lrelu", "relu", "none")


def projection_geometry(scale: int) -> tuple[int, int, int]:
    """Kernel, stride and padding of the x``scale`` up/down projection convolutions."""
    if scale not in PROJECTION_GEOMETRY:
        raise ValueError(f"scale must be one of {sorted(PROJECTION_GEOMETRY)}, got {scale!r}")
    return PROJECTION_GEOMETRY[scale]


def make_activation(name: str) -> nn.Module | None:
    """PReLU (one shared slope, init 0.25), LeakyReLU(0.1), ReLU, or no activation."""
    if name == "prelu":
        return nn.PReLU(num_parameters=1, init=0.25)
    if name == "lrelu":
        return nn.LeakyReLU(0.1, inplace=False)
    if name == "relu":
        return nn.ReLU(inplace=False)
    if name == "none":
        return None
    raise ValueError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")


class ConvBlock(nn.Module):
    """Conv2d followed by an optional activation."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, pad: int = 1,
                 act: str = "prelu") -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, pad, bias=True)
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return x if self.act is None else self.act(x)


class DeconvBlock(nn.Module):
    """ConvTranspose2d followed by an optional activation."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, pad: int,
                 act: str = "prelu") -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(c_in, c_out, kernel, stride, pad, bias=True)
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.deconv(x)
        return x if self.act is None else self.act(x)


class ResBlock(nn.Module):
    """y = act(conv2(act(conv1(x))) + x), two 3x3 C->C convs and one shared activation module.

    The activation after the residual sum is part of the authors' block (spec section 2).
    """

    def __init__(self, channels: int, act: str = "prelu") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=True)
        act_module = make_activation(act)
        if act_module is None:
            raise ValueError("ResBlock needs an activation")
        self.act = act_module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.act(self.conv1(x)))
        return self.act(y + x)


def res_stack(channels: int, n_blocks: int, act: str, tail: nn.Module) -> nn.Sequential:
    """``n_blocks`` ResBlocks followed by ``tail`` (indexed 0..n_blocks, as in the authors' code)."""
    return nn.Sequential(*[ResBlock(channels, act) for _ in range(n_blocks)], tail)


class UpProjection(nn.Module):
    """DBPN up-projection unit: (B, C, h, w) -> (B, C, s*h, s*w).

    h0 = up(x); l0 = down(h0); h1 = up(l0 - x); return h1 + h0.
    """

    def __init__(self, channels: int, scale: int) -> None:
        super().__init__()
        k, s, p = projection_geometry(scale)
        self.up_conv1 = DeconvBlock(channels, channels, k, s, p, "prelu")
        self.up_conv2 = ConvBlock(channels, channels, k, s, p, "prelu")
        self.up_conv3 = DeconvBlock(channels, channels, k, s, p, "prelu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.up_conv1(x)
        l0 = self.up_conv2(h0)
        h1 = self.up_conv3(l0 - x)
        return h1 + h0


class DownProjection(nn.Module):
    """DBPN down-projection unit: (B, C, s*h, s*w) -> (B, C, h, w).

    l0 = down(x); h0 = up(l0); l1 = down(h0 - x); return l1 + l0.
    """

    def __init__(self, channels: int, scale: int) -> None:
        super().__init__()
        k, s, p = projection_geometry(scale)
        self.down_conv1 = ConvBlock(channels, channels, k, s, p, "prelu")
        self.down_conv2 = DeconvBlock(channels, channels, k, s, p, "prelu")
        self.down_conv3 = ConvBlock(channels, channels, k, s, p, "prelu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        l0 = self.down_conv1(x)
        h0 = self.down_conv2(l0)
        l1 = self.down_conv3(h0 - x)
        return l1 + l0


class DenseProjection(nn.Module):
    """D-DBPN dense unit: a 1x1 conv (+PReLU) fuses the concatenation of earlier maps, then projects.

    (B, k*C, H, W) -> (B, C, H*s, W*s) for ``direction="up"``, or -> (B, C, H/s, W/s) for ``"down"``.
    """

    def __init__(self, channels: int, n_inputs: int, scale: int, direction: str) -> None:
        super().__init__()
        self.conv = ConvBlock(channels * n_inputs, channels, 1, 1, 0, "prelu")
        if direction == "up":
            self.proj: nn.Module = UpProjection(channels, scale)
        elif direction == "down":
            self.proj = DownProjection(channels, scale)
        else:
            raise ValueError(f"direction must be 'up' or 'down', got {direction!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.conv(x))


def init_kaiming_(module: nn.Module) -> nn.Module:
    """The authors' initialisation: kaiming_normal_ (fan_in, gain sqrt(2)) on every (transposed)
    convolution weight, zero biases; PReLU keeps its 0.25. Returns ``module`` for chaining."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module
