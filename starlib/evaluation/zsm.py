"""The ZSM protocol for any pair method: 4 LR frames in, 7 HR frames out, Y-PSNR / Y-SSIM per frame.

Zooming Slow-Mo, TMNet and RSTT score space-time SR on 7-frame windows: frames 1, 3, 5, 7 of a window
downsampled x4 are the input, all seven HR frames are predicted (1, 3, 5, 7 by S-SR, 2, 4, 6 by ST-SR) and
scored on the unrounded BT.601 luma (:mod:`starlib.metrics.y_float`, no border crop); a clip's score is the
mean over its scored frames, a data set's the mean over its clips (:mod:`starlib.data.septuplets` cuts the
windows).

A *pair method* here is any evaluation method (:mod:`starlib.evaluation.methods`) that maps the LR pair of a
:class:`FrameStack` (``lr[0]``, ``lr[-1]``; the stack holds no HR frames) to ``sr_t``, ``sr_mid``, ``sr_t1``:
a trained STARnet (:class:`starlib.infer.runner.STARMethod`), :class:`BicubicPairs`, the cascades of
:mod:`starlib.evaluation.cascades` (:class:`WithKeyFrames` adds the key frames to a T-SR -> S-SR cascade).
It is applied to the three consecutive input pairs (1, 3), (3, 5), (5, 7) of a window: the in-between frames
2, 4, 6 are the pairs' ``sr_mid``; frame 1 is ``sr_t`` of the first pair and frame 7 ``sr_t1`` of the last.

Frames 3 and 5 are in two pairs and get two S-SR predictions. ``key_frames`` chooses:

* ``"first"``: from the earlier pair (its ``sr_t1``: frame 3 from (1, 3), frame 5 from (3, 5));
* ``"second"`` (**the default**): from the later pair (its ``sr_t``: frame 3 from (3, 5), frame 5 from (5, 7)),
  what ``python -m starlib enhance`` writes for an input frame (``sr_t`` of the pair it starts, ``sr_t1``
  only for the clip's last frame), so the scored frames are the frames a user gets;
* ``"mean"``: the pixel mean of the two (uint8, rounded half up; a two-member ensemble at no extra cost).

Every choice is scored from the same three forwards (:func:`score_clip` records all three); tables show the
default and the measured alternatives. For single-image S-SR (bicubic, DBPN) the two predictions are equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable

import numpy as np

from starlib.data.samples import FrameStack
from starlib.data.septuplets import KEY_POSITIONS, WINDOW, Clip, load_clip, zsm_windows
from starlib.evaluation.baselines import bicubic_and_average, frame_average
from starlib.evaluation.methods import Method
from starlib.metrics.y_float import psnr_y_float, ssim_y_float

KEY_FRAME_CHOICES = ("first", "second", "mean")
DEFAULT_KEY_FRAMES = "second"
#: Window positions predicted by two pairs (frames 3 and 5): position -> (earlier pair, later pair).
SHARED = {2: (0, 1), 4: (1, 2)}
PAIR_OUTPUTS = ("sr_t", "sr_mid", "sr_t1")
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"psnr_y": psnr_y_float, "ssim_y": ssim_y_float}


def check_key_frames(choice: str) -> str:
    if choice not in KEY_FRAME_CHOICES:
        raise ValueError(f"unknown key-frame choice {choice!r}; choose one of {KEY_FRAME_CHOICES} (first: the "
                         f"earlier pair's sr_t1, second: the later pair's sr_t, mean: their mean)")
    return choice


class BicubicPairs:
    """Bicubic upscaling of each input (``sr_t``, ``sr_t1``) and of their average (``sr_mid``): the outputs of
    :func:`bicubic_and_average` for an LR pair (its ``hr_mid`` would need HR inputs and is not returned)."""

    def __init__(self, scale: int = 4, method: str = "pil") -> None:
        self.scale, self.method = scale, method

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        pair = FrameStack(stack.name, [stack.lr[0], stack.lr[-1]], [stack.lr[0], stack.lr[-1]])
        out = bicubic_and_average(pair, self.scale, self.method)   # HR slots only feed hr_mid, dropped here
        return {k: out[k] for k in PAIR_OUTPUTS}


class WithKeyFrames:
    """``sr_mid`` from ``stsr`` (e.g. a T-SR -> S-SR cascade, which returns no key frames) and ``sr_t``, ``sr_t1``
    from the S-SR method ``ssr``."""

    def __init__(self, stsr: Method, ssr: Method) -> None:
        self.stsr, self.ssr = stsr, ssr

    def __call__(self, stack: FrameStack) -> dict[str, np.ndarray]:
        key = self.ssr(stack)
        return {"sr_t": key["sr_t"], "sr_mid": self.stsr(stack)["sr_mid"], "sr_t1": key["sr_t1"]}


def pair_outputs(method: Method, inputs: Sequence[np.ndarray], name: str = "window") -> list[dict[str, np.ndarray]]:
    """The method on the consecutive pairs of the four LR ``inputs`` (frames 1, 3, 5, 7 of a window)."""
    if len(inputs) != len(KEY_POSITIONS):
        raise ValueError(f"a ZSM window has {len(KEY_POSITIONS)} input frames, got {len(inputs)}")
    outs = []
    for j in range(len(inputs) - 1):
        out = method(FrameStack(f"{name}/pair{j}", [], [inputs[j], inputs[j + 1]]))
        missing = [k for k in PAIR_OUTPUTS if k not in out]
        if missing:
            raise ValueError(f"method {type(method).__name__} returned {sorted(out)} but the ZSM protocol needs "
                             f"{list(PAIR_OUTPUTS)} of every pair (missing {missing}); give it an S-SR method for "
                             f"the key frames (WithKeyFrames)")
        outs.append(out)
    return outs


def shared_key_frame(pairs: Sequence[dict[str, np.ndarray]], position: int, key_frames: str) -> np.ndarray:
    """The prediction of window position 2 or 4 (frames 3, 5) under ``key_frames``."""
    earlier, later = SHARED[position]
    first, second = pairs[earlier]["sr_t1"], pairs[later]["sr_t"]
    choice = check_key_frames(key_frames)
    if choice == "first":
        return first
    if choice == "second":
        return second
    return frame_average(first, second)


def assemble_window(pairs: Sequence[dict[str, np.ndarray]], key_frames: str = DEFAULT_KEY_FRAMES) -> list[np.ndarray]:
    """The seven predicted HR frames of a window from its three pairs' outputs."""
    frames: list[np.ndarray | None] = [None] * WINDOW
    frames[0], frames[WINDOW - 1] = pairs[0]["sr_t"], pairs[-1]["sr_t1"]
    for j, out in enumerate(pairs):
        frames[2 * j + 1] = out["sr_mid"]
    for position in SHARED:
        frames[position] = shared_key_frame(pairs, position, key_frames)
    return frames  # type: ignore[return-value]


def role(position: int) -> str:
    """``"key"`` (an input frame, predicted by S-SR) or ``"inserted"`` (in between, by ST-SR)."""
    return "key" if position in KEY_POSITIONS else "inserted"


def score_clip(method: Method, clip: Clip, scale: int = 4, lr_method: str = "pil", crop: tuple[int, int] = (0, 0),
               tail: bool = True, max_windows: int = 0,
               choices: Sequence[str] = KEY_FRAME_CHOICES) -> list[dict]:
    """Per-frame scores of ``method`` on ``clip``: one record per scored frame with ``clip``, ``window`` (its
    index), ``start``, ``frame`` (index in the clip), ``position`` (0-6), ``role`` (key / inserted), ``shared``
    (frames 3 and 5) and, per metric and key-frame choice, ``<metric>_<choice>`` (``psnr_y_second`` ...): a frame
    whose prediction does not depend on the choice has one score, recorded under every choice. ``max_windows``
    > 0 keeps the first windows."""
    choices = [check_key_frames(c) for c in choices]
    windows = zsm_windows(len(clip.frames), tail)
    if max_windows:
        windows = windows[:max_windows]
    records = []
    for w_index, window in enumerate(windows):
        indices = list(range(window.start, window.start + WINDOW))
        hr, lr = load_clip(clip, scale, lr_method, crop, indices)
        pairs = pair_outputs(method, [lr[i] for i in window.inputs], f"{clip.name}/{window.start}")
        base = assemble_window(pairs, choices[0])
        for position in window.scored:
            gt = hr[window.start + position]
            preds = ({c: shared_key_frame(pairs, position, c) for c in choices} if position in SHARED
                     else dict.fromkeys(choices, base[position]))
            record = {"clip": clip.name, "window": w_index, "start": window.start, "frame": window.start + position,
                      "position": position, "role": role(position), "shared": position in SHARED}
            cached: dict[int, dict[str, float]] = {}
            for choice, pred in preds.items():
                scores = cached.get(id(pred))
                if scores is None:
                    scores = cached[id(pred)] = {m: fn(gt, pred) for m, fn in METRICS.items()}
                record.update({f"{m}_{choice}": v for m, v in scores.items()})
            records.append(record)
    return records


__all__ = ["BicubicPairs", "DEFAULT_KEY_FRAMES", "KEY_FRAME_CHOICES", "METRICS", "SHARED", "WithKeyFrames",
           "assemble_window", "check_key_frames", "pair_outputs", "role", "score_clip", "shared_key_frame"]
