"""Losses of paper section 3.3 with the authors' weighting (spec 6.2-6.3). Objectives are data
(:mod:`starlib.paper.objectives`).

Each objective is a list of ``(output, weight)`` terms. For every term the reconstruction loss is
``0.4 * L1(output_aux, target) + 1.0 * L1(output, target)`` (stage-1 auxiliary and final outputs; L1 = mean
absolute error in normalised space, what the authors' "mse_loss_calc" computes); the perceptual loss is the
same with ``MSE(vgg(.), vgg(target))`` on VGG19 features through relu5_4. The total is

    L = sum_terms w * R  +  perceptual_weight * sum_terms w * P  +  flow_weight * L_flow

so ``perceptual_weight = 0`` is the paper's L_r (eq. 16) and ``0.1`` is its L_f (eq. 17).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from starlib.paper.objectives import objective as objective_record
from starlib.paper.outputs import frame_index, output as output_record
from starlib.util import env

AUX_WEIGHT, FINAL_WEIGHT = 0.4, 1.0

VGG19_FILENAME = "vgg19-dcbb9e9d.pth"  # torchvision's ImageNet weights


class VGGWeightsMissing(FileNotFoundError):
    pass


def find_vgg19_weights(path: str | os.PathLike | None = None) -> Path:
    """Local VGG19 ImageNet weights: ``path``, ``$STARLIB_VGG19``, or torchvision's file in the torch cache."""
    candidates = [Path(p) for p in (path, env.setting(env.VGG19)) if p]
    candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILENAME)
    for c in candidates:
        if c.is_file():
            return c
    raise VGGWeightsMissing(
        "VGG19 ImageNet weights for the perceptual loss (L_f) were not found; looked in "
        + ", ".join(str(c) for c in candidates)
        + f". Download torchvision's {VGG19_FILENAME} on a machine with network access and put it in one of "
          "these places (or set STARLIB_VGG19), or train with perceptual_weight=0 (the paper's L_r).")


class VGGFeatures(nn.Module):
    """VGG19 ``features[0..35]`` (through relu5_4), frozen, eval mode. Input: ImageNet-normalised images
    (what the networks output), (B, 3, H, W) -> (B, 512, H/16, W/16). The weights file is torchvision's
    state dict, whole or its ``features.*`` keys alone."""

    def __init__(self, weights: str | os.PathLike | None = None, allow_random: bool = False) -> None:
        super().__init__()
        from torchvision.models import vgg19

        net = vgg19(weights=None)
        if allow_random:
            pass  # tests only: exercises the code path without the ImageNet weights
        else:
            path = find_vgg19_weights(weights)
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or not state:
                raise VGGWeightsMissing(f"{path} is not a VGG19 state dict; use torchvision's {VGG19_FILENAME}")
            prefix = "features."
            if all(k.startswith(prefix) for k in state):  # the convolutional part alone (all this loss uses)
                net.features.load_state_dict({k[len(prefix):]: v for k, v in state.items()})
            else:
                net.load_state_dict(state)
        self.features = net.features[:36].eval()
        for p in self.features.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> VGGFeatures:  # always eval
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


@dataclass(frozen=True)
class LossWeights:
    perceptual: float = 0.0   # w3 (0 = L_r, 0.1 = L_f)
    flow: float = 0.1         # w2 (used when the model refines flows)


def batch_target(batch: dict[str, torch.Tensor], output: str) -> torch.Tensor:
    """Target frame of ``output`` in a training batch (``hr``/``lr`` stacks of shape (B, L, 3, H, W))."""
    out = output_record(output)
    stack = batch[out.stack]
    return stack[:, frame_index(out.frame, stack.shape[1])]


class STARLoss(nn.Module):
    """The training objective of one STARnet variant; returns ``(total, parts)`` with named float parts."""

    def __init__(self, objective: str, weights: LossWeights = LossWeights(), vgg: VGGFeatures | None = None) -> None:
        super().__init__()
        if weights.perceptual > 0 and vgg is None:
            raise ValueError("a perceptual weight > 0 needs VGG features (VGGFeatures())")
        self.objective, self.terms, self.weights = objective, objective_record(objective).terms, weights
        self.vgg = vgg

    def forward(self, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor],
                targets: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """``targets`` overrides :func:`batch_target` per output (e.g. STAR-T_HR's HR middle frame)."""
        parts: dict[str, float] = {}
        total = next(iter(out.values())).new_zeros(())
        for output, w in self.terms:
            if output not in out:
                raise ValueError(f"objective {self.objective} trains output {output!r}, which this network does "
                                 f"not produce (it returns {sorted(k for k in out if not k.endswith('_aux'))})")
            target = targets[output] if targets and output in targets else batch_target(batch, output)
            rec = FINAL_WEIGHT * F.l1_loss(out[output], target)
            if f"{output}_aux" in out:                      # absent for Net_S-only baselines
                rec = rec + AUX_WEIGHT * F.l1_loss(out[f"{output}_aux"], target)
            parts[f"l1_{output}"] = float(rec.detach())
            total = total + w * rec
            if self.weights.perceptual > 0:
                assert self.vgg is not None
                phi_t = self.vgg(target).detach()
                per = FINAL_WEIGHT * F.mse_loss(self.vgg(out[output]), phi_t)
                if f"{output}_aux" in out:
                    per = per + AUX_WEIGHT * F.mse_loss(self.vgg(out[f"{output}_aux"]), phi_t)
                parts[f"vgg_{output}"] = float(per.detach())
                total = total + self.weights.perceptual * w * per
        if self.weights.flow > 0 and "flow_fwd_gt" in batch and "flow_fwd" in out:
            flow = F.mse_loss(out["flow_fwd"], batch["flow_fwd_gt"]) + F.mse_loss(out["flow_bwd"], batch["flow_bwd_gt"])
            parts["flow"] = float(flow.detach())
            if "flow_fwd" in batch:  # the same loss of the unrefined flows: what refinement has to beat
                with torch.no_grad():
                    parts["flow_unrefined"] = float(F.mse_loss(batch["flow_fwd"], batch["flow_fwd_gt"])
                                                    + F.mse_loss(batch["flow_bwd"], batch["flow_bwd_gt"]))
            total = total + self.weights.flow * flow
        parts["total"] = float(total.detach())
        return total, parts
