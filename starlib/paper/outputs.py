"""The output vocabulary: every name a network, a method, a score or a table uses for a predicted frame.

A window holds frames t, t+, t+1 (L frames; t+ is the middle one). Names and their ground truth:

==========  =========================  ======================  =================================
name        paper symbol               task                    ground truth (stack, frame)
==========  =========================  ======================  =================================
``sr_t``    I_t^sr                     S-SR                    HR frame t (the first)
``sr_mid``  I_{t+}^sr                  ST-SR                   HR middle frame
``sr_t1``   I_{t+1}^sr                 S-SR                    HR frame t+1 (the last)
``lr_mid``  I_{t+}^l                   T-SR on S-LR            LR middle frame
``hr_mid``  I_{t+} from HR inputs      T-SR at the original    HR middle frame
                                       resolution (STAR-T_HR)
==========  =========================  ======================  =================================

``hr_mid`` is what an HR-input network (STAR-T_HR) returns on its LR branch (``lr_mid``) when HR frames go
in; the networks themselves only ever name the first four.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Output:
    name: str
    symbol: str          # the paper's notation, plain text
    latex: str           # the same in LaTeX math (without $)
    task: str            # S-SR, ST-SR, T-SR on LR, T-SR at HR
    stack: str           # "hr" or "lr": where its ground truth comes from
    frame: str           # "first", "mid" or "last"

    @property
    def interpolated(self) -> bool:
        """An in-between frame (interpolation error is defined for these only)."""
        return self.frame == "mid"


OUTPUTS: dict[str, Output] = {o.name: o for o in (
    Output("sr_t", "I_t^sr", r"I_t^{sr}", "S-SR", "hr", "first"),
    Output("sr_mid", "I_t+^sr", r"I_{t+}^{sr}", "ST-SR", "hr", "mid"),
    Output("sr_t1", "I_t+1^sr", r"I_{t+1}^{sr}", "S-SR", "hr", "last"),
    Output("lr_mid", "I_t+^l", r"I_{t+}^{l}", "T-SR on LR", "lr", "mid"),
    Output("hr_mid", "I_t+ from HR inputs", r"I_{t+}^{h}", "T-SR at HR", "hr", "mid"),
)}
#: What a STARnet forward returns (final outputs; ``<name>_aux`` are the stage-1 ones).
NETWORK_OUTPUTS: tuple[str, ...] = ("sr_t", "sr_mid", "sr_t1", "lr_mid")
INTERPOLATED: tuple[str, ...] = tuple(n for n, o in OUTPUTS.items() if o.interpolated)


def output(name: str) -> Output:
    """The :class:`Output` called ``name``; a ValueError names the known ones."""
    if name not in OUTPUTS:
        raise ValueError(f"unknown output {name!r}; known: {sorted(OUTPUTS)}")
    return OUTPUTS[name]


def frame_index(frame: str, length: int) -> int:
    """Index of ``first`` / ``mid`` / ``last`` in a window of ``length`` frames."""
    return {"first": 0, "mid": length // 2, "last": length - 1}[frame]
