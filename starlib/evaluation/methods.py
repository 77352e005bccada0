"""What a method is, and what its outputs are scored against.

A *method* is any callable ``FrameStack -> {output name: (H, W, 3) uint8 frame}``; output names are the
vocabulary of :mod:`starlib.paper.outputs`. A method reads only the input frames of the stack (``lr[0]``,
``lr[-1]``, and for HR-input methods ``hr[0]``, ``hr[-1]``); the other frames are ground truth.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from starlib.data.samples import FrameStack
from starlib.paper.outputs import frame_index, output


class Method(Protocol):
    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]: ...


def ground_truth(stack: FrameStack, name: str) -> np.ndarray:
    """The frame of ``stack`` that output ``name`` is scored against."""
    out = output(name)
    frames = stack.hr if out.stack == "hr" else stack.lr
    return frames[frame_index(out.frame, len(frames))]
