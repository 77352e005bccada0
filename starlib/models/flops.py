"""FLOPs of STARnet forwards and training steps, counted on the meta device (nothing is computed).

The one home of the count the benchmark reports (``benchmarks/bench.py``) and the scaling study's training
compute (``starlib.study.tables.scaling``): ``torch.utils.flop_counter.FlopCounterMode``, a multiply-add = 2 FLOPs.
"""

from __future__ import annotations

import torch

from .config import STARConfig
from .star import STARnet


def count_flops(model: STARnet, size: tuple[int, int]) -> int:
    """FLOPs of one forward of ``model``'s network at LR ``size`` (h, w)."""
    from torch.utils.flop_counter import FlopCounterMode

    meta = STARnet(model.cfg).to("meta").eval()
    x = torch.empty(1, 3, *size, device="meta")
    flows = (torch.empty(1, 2, *size, device="meta"),) * 2 if model.cfg.use_flow else ()
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        meta(x, x, *flows)
    return int(counter.get_total_flops())


def count_train_flops(cfg: STARConfig, size: tuple[int, int], batch: int) -> int:
    """FLOPs of one training forward+backward of ``batch`` items at LR ``size`` (h, w): every output enters the
    loss, as under the STAR objective (a finetune, whose loss leaves some outputs out, costs at most this);
    about 3x the forward."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        meta = STARnet(cfg).train()
    x = torch.empty(batch, 3, *size, device="meta")
    flows = (torch.empty(batch, 2, *size, device="meta"),) * 2 if cfg.use_flow else ()   # a network without flow
    counter = FlopCounterMode(display=False)                                             # takes none
    with counter:
        out = meta(x, x, *flows)
        sum(v.float().abs().mean() for v in out.values()).backward()
    return int(counter.get_total_flops())
