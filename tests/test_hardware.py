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


def test_devices_resolve_once_with_clear_errors():
    from starlib.study.setup.workspace import Workspace
    from starlib.util.hardware import DeviceUnavailable, describe_device, resolve_device

    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu") and "cores" in describe_device("cpu")
    with pytest.raises(DeviceUnavailable, match="choose auto, cpu, cuda or cuda:N"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailable, match="no CUDA device"):
            resolve_device("cuda:1")
    ws = Workspace.create("smoke", device="cpu")
    assert ws.device == torch.device("cpu") and ws.provenance("d", 1, 0.0)["device"].startswith("cpu (")
    assert Workspace.create("smoke").device == resolve_device(ws.profile.device)
    assert ws.provenance("d", 1, 0.0)["seed"] == ws.train_seed == 123                  # the profile's [train] seed
    assert Workspace.create("smoke", seed=-1).seed is None and Workspace.create("smoke", seed=7).train_seed == 7
