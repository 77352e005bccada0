"""The flows the whole study needs, computed ahead in parallel (``python -m starlib prepare``; the pipeline
runs it before the notebooks): every training window of every run that uses flows (with the FR targets), at
the run's scale and inputs, and the test pairs those networks are scored on, padded as scoring pads them."""

from __future__ import annotations

from starlib.data.precompute import FlowJob, precompute
from starlib.infer.runner import input_geometry
from starlib.study.trainings.inventory import study_plans
from starlib.study.trainings.recipes import hr_input_benchmarks, test_benchmarks, training_split
from starlib.study.setup.workspace import Workspace


def study_flow_jobs(ws: Workspace) -> list[FlowJob]:
    """The :class:`FlowJob` of every window the study's runs train on and are scored on (repeats included;
    :func:`starlib.data.precompute.precompute` drops them)."""
    profile = ws.profile
    windows = training_split(profile)[0]
    jobs: list[FlowJob] = []
    for p in study_plans(ws):
        mcfg, tcfg = p.model, p.train
        if not mcfg.use_flow:
            continue
        jobs += [FlowJob(w, mcfg.scale, tcfg.inputs, fr_targets=True) for w in windows]
        if not p.objective.scored:
            continue
        bench = test_benchmarks(profile) if tcfg.inputs == "lr" else hr_input_benchmarks(profile)
        jobs += [FlowJob(w, mcfg.scale, tcfg.inputs, pad=input_geometry(mcfg)) for ws_ in bench.values()
                 for w in ws_]
    return jobs


def prepare_flows(ws: Workspace, workers: int = 0) -> tuple[int, int]:
    """Fill the workspace's flow cache with :func:`study_flow_jobs` on ``workers`` processes (0: every core):
    ``(flows computed, flows already cached)``."""
    return precompute(study_flow_jobs(ws), ws.flows, workers=workers, progress=ws.progress)
