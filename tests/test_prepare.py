"""Flows computed ahead in parallel (``python -m starlib prepare``): the same cache entries a serial run
writes, nothing recomputed the second time, and training and scoring then find every flow they need."""

import numpy as np
import pytest

from starlib.data import RandomCropWindows, load_window
from starlib.data.images import pad_frame
from starlib.data.samples import flow_pair
from starlib.flow import FlowCache
from starlib.data.precompute import FlowJob, precompute, unique_jobs
from starlib.infer.runner import input_geometry
from starlib.study.trainings.inventory import study_runs
from starlib.study.trainings.prepare import study_flow_jobs
from starlib.study.trainings import recipes
from starlib.study.trainings.plans import run_configs
from starlib.study.trainings.recipes import training_split
from starlib.study.setup.workspace import Workspace


@pytest.fixture(scope="module")
def smoke_ws(tmp_path_factory):
    return Workspace.create("smoke", cache_dir=tmp_path_factory.mktemp("cache"), device="cpu", progress=False)


def _entries(cache: FlowCache) -> dict[str, np.ndarray]:
    return {p.name: np.load(p) for p in sorted(cache.root.rglob("*.npy"))}


def test_parallel_precompute_writes_the_entries_a_serial_run_writes(tmp_path, smoke_ws):
    windows = training_split(smoke_ws.profile)[0]
    jobs = [FlowJob(w, 4, "lr", fr_targets=True) for w in windows] + [FlowJob(w, 4, "hr") for w in windows]
    parallel, serial = FlowCache(tmp_path / "p"), FlowCache(tmp_path / "s")
    computed, found = precompute(jobs, parallel, workers=2, progress=False)
    assert (computed, found) == (len(windows) * 8, 0)            # 6 flows with FR targets + 2 at HR per window
    assert precompute(jobs, serial, workers=1, progress=False) == (computed, 0)
    p, s = _entries(parallel), _entries(serial)
    assert p.keys() == s.keys() and len(p) == computed
    assert all(np.array_equal(p[k], s[k]) for k in p)
    assert precompute(jobs, parallel, workers=2, progress=False) == (0, computed)   # all cached now


def test_unique_jobs_keep_the_larger_of_two_requests_for_a_window(smoke_ws):
    w = training_split(smoke_ws.profile)[0][0]
    jobs = unique_jobs([FlowJob(w, 4), FlowJob(w, 4, fr_targets=True), FlowJob(w, 4, pad=(4, 32))])
    assert jobs == [FlowJob(w, 4, fr_targets=True), FlowJob(w, 4, pad=(4, 32))]


def test_precompute_refuses_an_uncached_cache_and_bad_jobs(smoke_ws):
    with pytest.raises(ValueError, match="cache on disk"):
        precompute([], FlowCache(None))
    with pytest.raises(ValueError, match="'lr' or 'hr'"):
        FlowJob(training_split(smoke_ws.profile)[0][0], 4, frames="LR")


def test_after_prepare_training_and_scoring_find_every_flow(smoke_ws):
    jobs = study_flow_jobs(smoke_ws)
    computed, _ = precompute(jobs, smoke_ws.flows, workers=2, progress=False)
    assert computed > 0 and {j.frames for j in jobs} == {"lr", "hr"} and {j.scale for j in jobs} >= {4, 2}
    reader = FlowCache(smoke_ws.flows.root, smoke_ws.flows.backend)
    windows = training_split(smoke_ws.profile)[0]
    for _, what in study_runs(smoke_ws):
        mcfg, tcfg = run_configs(smoke_ws, what)
        if mcfg.use_flow:                                          # what train_run builds for this run
            RandomCropWindows(windows, patch=tcfg.patch, scale=mcfg.scale, flow_cache=reader, flow_on=tcfg.inputs)
            if tcfg.inputs == "lr":                                # what scoring asks for on one test pair
                stack = load_window(recipes.test_benchmarks(smoke_ws.profile)["ucf101"][0], mcfg.scale)
                geometry = input_geometry(mcfg)
                flow_pair(pad_frame(stack.lr[0], *geometry), pad_frame(stack.lr[-1], *geometry), reader)
    assert reader.misses == 0 and reader.hits > 0


def test_prepare_cli_fills_the_cache_and_refuses_a_negative_worker_count(tmp_path, capsys):
    from starlib.__main__ import main

    assert main(["prepare", "--profile", "smoke", "--workers", "-2"]) == 2
    assert "--workers -2" in capsys.readouterr().err
    assert main(["prepare", "--profile", "smoke", "--workers", "1", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"flows in {tmp_path / 'flows'}" in out and " 0 already cached" in out
    assert any((tmp_path / "flows").rglob("*.npy"))
