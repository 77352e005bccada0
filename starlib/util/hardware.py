"""What the machine's hardware does fast: used to warn before a setting that would crawl."""

from __future__ import annotations

import warnings

import torch


def native_bf16(device: str | torch.device) -> bool:
    """Whether bfloat16 arithmetic runs natively on ``device``: any CUDA GPU torch supports bf16 on, or a CPU
    whose kernels torch built for AVX-512 (AVX512-BF16 / AMX). On AVX2-only CPUs torch emulates bf16
    convolutions, which measured about 80x slower than fp32 on this project's 2-core machines."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return "AVX512" in torch.backends.cpu.get_cpu_capability()


def warn_if_slow_bf16(device: str | torch.device, where: str) -> None:
    if not native_bf16(device):
        device = torch.device(device)
        what = f"CPU ({torch.backends.cpu.get_cpu_capability()})" if device.type == "cpu" else str(device)
        warnings.warn(f"{where}: bfloat16 autocast on this {what} is emulated and much slower than fp32; "
                      f"leave bf16 off here", RuntimeWarning, stacklevel=3)
