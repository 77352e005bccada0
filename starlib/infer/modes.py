"""The modes of ``python -m starlib enhance``: one record each. A mode's name is parsed once, at the edge (the
command line's ``--mode``: :func:`enhance_mode`), and the record is passed along: the functions of
:mod:`starlib.infer.enhance` take records, and no code compares mode names.

Per pair of input frames (a, b) a mode writes the frame at a (a network output, or ``a`` itself), then the
in-between frame when it interpolates; after the last pair, the frame at b. See :mod:`starlib.infer.enhance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlib.infer.runner import EnhanceError
from starlib.paper.objectives import OBJECTIVES
from starlib.util.paths import REPO_ROOT

DEMO_DIR = REPO_ROOT / "checkpoints" / "demo"
DEMO_ST = DEMO_DIR / "star-st-cpu.pt"
DEMO_T_HR = DEMO_DIR / "star-t_hr-cpu.pt"


@dataclass(frozen=True)
class EnhanceMode:
    """One mode: what it writes and from which network outputs, and the network it needs."""

    name: str                      # the value of --mode (Objective.enhance_mode names it too)
    description: str
    scored: tuple[str, ...]        # the outputs it writes, as scored outputs (starlib.paper.outputs)
    inputs: str                    # the frames that go in: "lr" or "hr" (as Objective.inputs)
    frame_key: str | None          # network output written for frame a of each pair; None: a itself
    mid_key: str | None            # network output written between a and b; None: no interpolation
    last_key: str | None           # network output written for the last frame; None: the frame itself
    demo: Path                     # the shipped demo checkpoint (trained under the ``cpu`` profile)

    @property
    def interpolates(self) -> bool:
        """It doubles the frame rate (and so needs at least two frames, and may run twice)."""
        return self.mid_key is not None

    def pair_keys(self, last: bool) -> tuple[str, ...]:
        """The network outputs it needs from a pair (``last``: the clip's last pair)."""
        keys = tuple(k for k in (self.frame_key, self.mid_key) if k is not None)
        return keys + (self.last_key,) if last and self.last_key is not None else keys

    def fps_factor(self, times: int) -> int:
        """How much faster the output's frame rate is after ``times`` passes."""
        return 2**times if self.interpolates else 1

    def frames_out(self, frames_in: int, times: int) -> int:
        """Output frames for ``frames_in`` input frames."""
        return (frames_in - 1) * self.fps_factor(times) + 1 if self.interpolates else frames_in

    def objectives(self) -> tuple[str, ...]:
        """The objectives (:data:`starlib.paper.objectives.OBJECTIVES`) whose networks serve this mode, preferred
        first: those scored on every output the mode writes, with the mode's inputs; the objective made for the
        mode (``Objective.enhance_mode``) before the others, finetunes before the objective they start from."""
        serving = [o for o in OBJECTIVES.values() if o.inputs == self.inputs and set(self.scored) <= set(o.scored)]
        return tuple(o.name for o in sorted(serving, key=lambda o: (o.enhance_mode != self.name, o.parent is None)))


ENHANCE_MODES: dict[str, EnhanceMode] = {m.name: m for m in (
    EnhanceMode("st", "4x space, 2x frame rate", ("sr_t", "sr_mid", "sr_t1"), "lr", "sr_t", "sr_mid", "sr_t1",
                DEMO_ST),
    EnhanceMode("s", "4x space", ("sr_t", "sr_t1"), "lr", "sr_t", None, "sr_t1", DEMO_ST),
    EnhanceMode("t", "2x frame rate at input size", ("hr_mid",), "hr", None, "lr_mid", None, DEMO_T_HR),
)}

#: The mode of the second pass of ``times=2``: twice the frame rate again, at the first pass's output size.
SECOND_PASS = ENHANCE_MODES["t"]


def enhance_mode(mode: str | EnhanceMode) -> EnhanceMode:
    """The record of ``mode`` (a name of :data:`ENHANCE_MODES`, or a record, returned as it is)."""
    if isinstance(mode, EnhanceMode):
        return mode
    if mode not in ENHANCE_MODES:
        raise EnhanceError(f"unknown mode {mode!r}; choose one of {tuple(ENHANCE_MODES)}")
    return ENHANCE_MODES[mode]
