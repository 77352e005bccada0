"""Small factories shared by the tests."""

import torch

from starlib.models import STARConfig


def tiny_config(**overrides) -> STARConfig:
    """Every module present, widths small enough for a CPU test in well under a second."""
    base = dict(base_filter=16, feat=8, motion_feat=8, num_stages=2, n_resblock=1, netm_resblocks=1,
                netd_resblocks=1, tsr_lr_resblocks=1, dbpn_num_up=3, fr_width=4, fr_depth=2)
    base.update(overrides)
    return STARConfig(**base)


def random_pair(h: int, w: int, batch: int = 1, seed: int = 0):
    """Two frames and two flows of the layout STARnet expects (normalised units)."""
    g = torch.Generator().manual_seed(seed)
    frames = [torch.randn(batch, 3, h, w, generator=g) for _ in range(2)]
    flows = [0.05 * torch.randn(batch, 2, h, w, generator=g) for _ in range(2)]
    return frames[0], frames[1], flows[0], flows[1]
