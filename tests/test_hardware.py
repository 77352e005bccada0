"""bf16 on a CPU that only emulates it (AVX2) gets a warning; with AVX-512 kernels it does not."""

import warnings

import pytest
import torch

from starlib.util.hardware import native_bf16, warn_if_slow_bf16


@pytest.mark.parametrize("capability, native", [("AVX2", False), ("DEFAULT", False), ("AVX512", True)])
def test_cpu_bf16_is_native_only_with_avx512(monkeypatch, capability, native):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    assert native_bf16("cpu") is native
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_slow_bf16("cpu", "--bf16")
    assert bool(caught) is not native
    if caught:
        assert "--bf16" in str(caught[0].message) and "emulated" in str(caught[0].message)
