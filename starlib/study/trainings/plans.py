"""A plan per training: its run name, its network and training configs, its objective record and the plans of
the runs it starts from, computed once from the recipes and then read by training (:mod:`starlib.study.
training_runs`), scoring (:mod:`starlib.study.tables.entries`), the inventory, flows and shipping. Nothing is loaded or
trained here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from starlib.models import STARConfig
from starlib.paper.objectives import Objective
from starlib.study.trainings.recipes import Training, fr_stage, model_config, net_s_stage, train_config, training_split
from starlib.study.setup.workspace import Workspace
from starlib.train import TrainConfig, run_id


@dataclass(frozen=True)
class Plan:
    """What one run is: the :class:`Training` it carries out, its objective, configs and folder name, and the
    plans of the runs it starts from (a finetune's parent, the stages of the staged recipe)."""

    what: Training
    objective: Objective
    model: STARConfig
    train: TrainConfig
    name: str                       # the run folder's name, ``<objective>-<hash>`` (exists or not)
    needs: tuple[Plan, ...] = ()    # the runs it starts from, each entering ``train`` by its name

    @property
    def chain(self) -> list[Plan]:
        """Every plan this one starts from, upstream first (each once), then this one."""
        out: list[Plan] = []
        for need in self.needs:
            out += [p for p in need.chain if all(p.what != q.what for q in out)]
        return out + [self]


def plan(ws: Workspace, what: Training) -> Plan:
    """The :class:`Plan` of ``what`` under the workspace's profile (and seed)."""
    return _plan(ws, what, training_split(ws.profile)[2])


def _plan(ws: Workspace, what: Training, data_tag: str) -> Plan:
    """``what``'s configs and the runs it starts from; those enter its training config by their run names."""
    profile, stages = ws.profile, ws.profile.stages
    overrides = dict(what.overrides)
    seed = {k: v for k, v in overrides.items() if k == "seed"}
    if ws.seed is not None:
        overrides.setdefault("seed", ws.seed)
        seed = {"seed": overrides["seed"]}
    # the loss goes with the network through its chain: a finetune's parent and stage (c) (the authors'
    # scripts all train with the same 0.1 L_vgg); stages (a) and (b) have losses of their own
    carried = {**seed, **{k: v for k, v in overrides.items() if k == "perceptual_weight"}}
    mcfg = model_config(profile, what.variant)
    record = what.record
    needs: list[Plan] = []

    def start(key: str, source: Training | str) -> None:
        if key not in overrides:
            if isinstance(source, Training):                    # every stage runs with the same seed
                need = _plan(ws, dataclasses.replace(source, overrides={**source.overrides, **seed}), data_tag)
                needs.append(need)
                source = need.name
            overrides[key] = source

    if record.parent:                                           # (e) a finetune: from its parent's run
        if what.from_parent:
            start("init_from", Training(record.parent, what.variant, carried))
    elif what.from_parent and not mcfg.net_s_only and not mcfg.fr_only:
        if stages.fr and not what.stage:                        # (d): from (c), the U-Net from (b)
            core = Training(what.objective, {**what.variant, "flow_refine": False},
                            {**carried, "steps": stages.core_steps} if stages.core_steps else carried,
                            stage="core")
            start("init_from", core)
            if mcfg.flow_refine:
                start("init_flow_net", stages.fr_file or fr_stage(profile, mcfg))
        elif stages.net_s or stages.net_s_file:                 # (c), or the only stage: Net_S from (a)
            start("init_net_s", stages.net_s_file or net_s_stage(profile, mcfg))
    tcfg = train_config(profile, what.objective, **overrides)
    return Plan(what, record, mcfg, tcfg, run_id(mcfg, tcfg, data_tag), tuple(needs))


def run_configs(ws: Workspace, what: Training) -> tuple[STARConfig, TrainConfig]:
    """The network and training configs ``what`` trains with (nothing is loaded or trained)."""
    p = plan(ws, what)
    return p.model, p.train


def stages(ws: Workspace, what: Training) -> list[Training]:
    """Every run ``what`` starts from, upstream first (each once), then ``what`` itself."""
    return [p.what for p in plan(ws, what).chain]


def run_name(ws: Workspace, what: Training) -> str:
    """The folder name of ``what``'s run (``<objective>-<hash>``), whether or not it exists yet."""
    return plan(ws, what).name


def describe(ws: Workspace, p: Plan) -> str:
    """What a table row's network was trained with: Net_S, loss, schedule and its chain of runs."""
    chain = " -> ".join(("Net_S alone" if q.what.objective == "STAR-S" and q is not p else
                         "FR alone" if q.what.objective == "FR" else
                         f"{q.what.objective} w/o FR" if q.what.stage else q.what.objective) for q in p.chain)
    loss = "L_f" if p.train.perceptual_weight > 0 else "L_r"
    schedule = ws.profile.schedule or "[train]"
    return f"Net_S={p.model.net_s}; {loss}; schedule {schedule}; {chain}"


def setup(ws: Workspace, what: Training) -> str:
    """:func:`describe` of ``what``'s plan."""
    return describe(ws, plan(ws, what))
