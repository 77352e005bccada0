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


class DeviceUnavailable(ValueError):
    """A device was asked for that this machine does not have."""


def resolve_device(name: str | torch.device = "auto", flag: str = "") -> torch.device:
    """``auto``: the first CUDA device when torch sees one, else the CPU; ``cpu``, ``cuda`` or ``cuda:N`` as
    given, after checking that the machine has it (a clear error otherwise, naming the command-line ``flag``
    the value came from, if any)."""
    use = f"use {flag + ' ' if flag else ''}cpu or auto"
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise DeviceUnavailable(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N") from exc
    if device.type not in ("cpu", "cuda"):
        raise DeviceUnavailable(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailable(f"{flag or 'device'} {name} was asked for but torch sees no CUDA device; {use}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceUnavailable(f"{flag or 'device'} {name} was asked for but torch sees "
                                    f"{torch.cuda.device_count()} CUDA device(s): cuda:0 .. "
                                    f"cuda:{torch.cuda.device_count() - 1}")
    return device


def describe_device(device: str | torch.device) -> str:
    """What a results row records about where it ran: ``cuda:0 (NVIDIA H200)`` or ``cpu (x86_64, 2 cores)``."""
    import os
    import platform

    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return f"{device} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


class tf32_arithmetic:
    """Context manager: CUDA matmuls and cuDNN convolutions in fp32 tensors run on TensorFloat-32 tensor cores
    (``allowed=True``: 10-bit mantissa products, fp32 accumulation) or in strict IEEE fp32 (``allowed=False``),
    restoring torch's previous settings on exit. torch's own defaults are TF32 convolutions and strict
    matmuls; STARnet is almost all convolutions. No effect on the CPU."""

    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed
        self._before: tuple[bool, bool] | None = None

    def __enter__(self) -> tf32_arithmetic:
        self._before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = self.allowed
        torch.backends.cudnn.allow_tf32 = self.allowed
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._before is not None
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self._before
