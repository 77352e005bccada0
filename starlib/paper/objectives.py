"""The paper's training objectives (section 3.2, Fig. 4), one record each: every module reads these.

An objective says which outputs are trained (the loss terms and their weights, spec 6.2), which outputs it is
therefore scored on, whether LR or HR frames go in, which objective it is finetuned from, and which mode of
``python -m starlib enhance`` it serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlib.paper.outputs import OUTPUTS


@dataclass(frozen=True)
class Objective:
    name: str
    terms: tuple[tuple[str, float], ...]   # (network output, weight) of the reconstruction/perceptual losses
    scored: tuple[str, ...]                # outputs it is evaluated on (vocabulary of starlib.paper.outputs)
    inputs: str = "lr"                     # "lr": LR frames in; "hr": HR frames in (T-SR at the original size)
    parent: str | None = None              # the objective it is finetuned from (None: trained first)
    enhance_mode: str | None = None        # the mode of `python -m starlib enhance` it is made for
    paper_name: str = ""                   # its name in the paper's tables, where that differs
    description: str = ""                  # what it trains, in the paper's terms

    def __post_init__(self) -> None:
        unknown = [o for o, _ in self.terms if o not in OUTPUTS] + [o for o in self.scored if o not in OUTPUTS]
        if unknown or self.inputs not in ("lr", "hr"):
            raise ValueError(f"objective {self.name}: unknown outputs {unknown} or inputs {self.inputs!r}")

    @property
    def is_finetune(self) -> bool:
        return self.parent is not None

    @property
    def label(self) -> str:
        return self.paper_name or self.name


OBJECTIVES: dict[str, Objective] = {o.name: o for o in (
    Objective("STAR", (("sr_mid", 1.0), ("sr_t", 0.5), ("sr_t1", 0.5), ("lr_mid", 1.0)),
              ("sr_t", "sr_mid", "sr_t1", "lr_mid"), enhance_mode="st",
              description="STAR is trained with all three losses of paper section 3.2 (space: I_t, I_{t+1}; time: "
                          "the LR middle frame; space-time: the HR middle frame), plus the flow-refinement loss. "
                          "Every finetune starts from this model."),
    Objective("STAR-ST", (("sr_mid", 1.0), ("sr_t", 0.5), ("sr_t1", 0.5)), ("sr_t", "sr_mid", "sr_t1"),
              parent="STAR", enhance_mode="st",
              description="STAR-ST starts from STAR and drops the LR middle-frame loss: it is optimised for the "
                          "super-resolved frames I_t, I_{t+1} and the in-between I_{t+n} (paper Fig. 4b). The paper "
                          "reports it as its best ST-SR model (Tables 2, 7)."),
    Objective("STAR-S", (("sr_t", 1.0), ("sr_t1", 1.0)), ("sr_t", "sr_t1"), parent="STAR", enhance_mode="s",
              description="STAR-S starts from STAR and keeps only the space loss on I_t and I_{t+1} (weight 1 each, "
                          "as the authors' code): a video S-SR model that was taught by ST-SR first (paper Fig. 4c, "
                          "Table 8)."),
    Objective("STAR-T_LR", (("lr_mid", 1.0),), ("lr_mid",), parent="STAR", paper_name="STAR-T",
              description="STAR-T_LR starts from STAR and keeps only the time loss on the LR middle frame: frame "
                          "interpolation on downscaled inputs (paper Fig. 4d, Tables 9-10)."),
    # HR frames in: the LR branch's output lives at the input (HR) resolution and is scored as hr_mid
    Objective("STAR-T_HR", (("lr_mid", 1.0),), ("hr_mid",), inputs="hr", parent="STAR", enhance_mode="t",
              description="STAR-T_HR starts from STAR, is fed the original HR frames as its inputs and is trained "
                          "to produce the HR middle frame from its LR branch, which lives at the input resolution "
                          "(paper Fig. 4d, Table 9). Flows are computed on the HR frames. Internally the network "
                          "works at 4x the input size, so evaluation runs tile by tile."),
)}
FINETUNES: tuple[str, ...] = tuple(n for n, o in OBJECTIVES.items() if o.is_finetune)

#: Training stages that are not objectives of the paper (never scored, never in a table): the
#: flow-refinement U-Net pretrained alone, stage (b) of the staged recipe (``starlib.study.trainings.recipes``).
PRETRAINING: dict[str, Objective] = {o.name: o for o in (
    Objective("FR", (), (), description="The flow-refinement U-Net trained alone on the FR ground-truth flows "
                                        "(eq. 15, flows through the true middle frame): the authors load such a "
                                        "pretrained U-Net (flow_refinement.pth) before the STAR run with FR."),
)}


def objective(name: str) -> Objective:
    """The :class:`Objective` called ``name``; a ValueError names the known ones."""
    if name in PRETRAINING:
        return PRETRAINING[name]
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; choose one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]
