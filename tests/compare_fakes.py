"""A comparison for the widget of notebook 13 built in a second, with non-learned methods on real UCF101 /
Middlebury items: what tests/test_compare_ui.py tests and what tests/test_browser_lab.py opens in JupyterLab
(importable from a kernel that puts tests/ on its path)."""

import time
from types import SimpleNamespace

import numpy as np

from starlib.data import middlebury_other, ucf101_dvf
from starlib.evaluation.baselines import FlowInterpolation, bicubic_and_average, bicubic_upscale, frame_average
from starlib.evaluation.cascades import SpaceThenTime, TimeThenSpace


def zero_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A flow estimator that sees no motion: (H, W, 2) zeros for two (H, W, 3) frames."""
    return np.zeros((*a.shape[:2], 2), np.float32)


def bicubic_ssr(stack):
    """An LR-input S-SR method (what SpaceThenTime / TimeThenSpace wrap): bicubic of both inputs."""
    return {"sr_t": bicubic_upscale(stack.lr[0], 4), "sr_t1": bicubic_upscale(stack.lr[-1], 4)}


def shifted(method, dy: int = 1):
    """A method whose outputs are ``method``'s rolled by ``dy`` rows: a second, worse method."""
    return lambda stack: {k: np.roll(v, dy, axis=0) for k, v in method(stack).items()}


def slowed(method, seconds: float):
    """``method`` that also waits ``seconds`` per call: a stand-in for a network whose reruns one can see."""
    def run(stack):
        time.sleep(seconds)
        return method(stack)
    return run


def fake_comparison(ucf101_items: int = 2) -> SimpleNamespace:
    """What Comparisons offers the UI (scale, benchmarks, methods of Tables 7-10), non-learned methods only:
    one Middlebury item and the first ``ucf101_items`` UCF101 items; one UCF101 item with HR inputs."""
    fi = FlowInterpolation(zero_flow)
    return SimpleNamespace(
        scale=4,
        bench={"middlebury": middlebury_other()[:1], "ucf101": ucf101_dvf()[:ucf101_items]},
        hr_bench={"ucf101": ucf101_dvf()[:1]},
        methods={
            8: {"Bicubic": bicubic_and_average, "Bicubic shifted": shifted(bicubic_and_average)},
            7: {"Bicubic + averaging": bicubic_and_average,
                "flow interp. -> bicubic": TimeThenSpace(zero_flow, bicubic_ssr),
                "bicubic -> averaging": SpaceThenTime(bicubic_ssr, frame_average, interpolate=False),
                "STAR": shifted(bicubic_and_average, 2)},
            9: {"Frame averaging": bicubic_and_average, "flow interp.": fi},
            10: {"Frame averaging": bicubic_and_average, "flow interp.": fi},
        })
