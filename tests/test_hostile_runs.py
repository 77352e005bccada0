"""Hostile and damaged inputs to checkpoints, training runs and scoring: each is refused fast with a one-line
error that names the file (or falls back to a good state with a warning), never a traceback from torch, an
allocation the file asked for, or a value dropped without a count."""

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from starlib.train.trainer import TIMING_COLUMNS
import torch

import starlib.models.checkpoint as ckpt
from helpers import tiny_config
from starlib.evaluation.scoring import NIQE_OK, NIQE_TOO_SMALL, NIQE_UNDEFINED, score
from starlib.evaluation.stats import summarize
from starlib.models import CheckpointError, STARConfig, STARnet, load_checkpoint, read_checkpoint, save_checkpoint
from starlib.util.config import ConfigError
from starlib.study.tables.entries import Entry, table_rows
from starlib.train import TrainConfig, train
from starlib.train.trainer import (BROKEN_STATE_NAME, LOCK_NAME, PREV_STATE_NAME, RunLocked, TrainingStateError,
                                   run_id, run_lock)

REPO = Path(__file__).resolve().parents[1]


# --- checkpoints ---------------------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    """A valid tiny checkpoint and its payload (to be damaged and re-saved by each test)."""
    path = save_checkpoint(STARnet(tiny_config()), tmp_path / "good.pt", extra={"objective": "STAR", "steps": 3})
    return path, read_checkpoint(path)


def _resave(payload, path: Path) -> Path:
    torch.save(payload, path)
    return path


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    assert "weights_only` set to `False" not in msg and "weights_only=False" not in msg, msg
    return msg


def test_a_huge_stored_config_is_refused_fast_without_building_it(saved, tmp_path, monkeypatch):
    """base_filter = feat = 4096 asks for a ~150 G-parameter network (hundreds of GB): refused from the meta
    device's shapes in milliseconds, before any real STARnet is built."""
    _, payload = saved
    payload["config"] = {**payload["config"], "base_filter": 4096, "feat": 4096}
    path = _resave(payload, tmp_path / "huge.pt")
    built = []
    real = ckpt.STARnet

    def spy(cfg):
        built.append(torch.empty(0).device.type)   # "meta" inside the shape check, "cpu" for a real build
        return real(cfg)

    monkeypatch.setattr(ckpt, "STARnet", spy)
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match="above the bound of 223.2 M") as err:
        load_checkpoint(path)
    assert time.perf_counter() - t0 < 0.5
    assert built == ["meta"]
    assert str(path) in _one_line(err) and "STARLIB_MAX_PARAMETERS" in str(err.value)
    # with the bound lifted, the stored tensors still do not fit the config: refused before building, too
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_checkpoint(path, max_parameters=10**12)
    assert built == ["meta", "meta"]
    # the loader is pure: $STARLIB_MAX_PARAMETERS is read by the entry points (below), not here
    monkeypatch.setenv("STARLIB_MAX_PARAMETERS", str(10**12))
    with pytest.raises(CheckpointError, match="above the bound of 223.2 M"):
        load_checkpoint(path)


def test_the_parameter_bound_from_the_environment_reaches_the_command_line(saved, tmp_path, monkeypatch, capsys):
    """``$STARLIB_MAX_PARAMETERS`` still works where a user meets it: read at the edge (the command line) and
    passed in; a bad value is one line naming the variable."""
    from starlib.__main__ import main

    path, _ = saved
    monkeypatch.setenv("STARLIB_MAX_PARAMETERS", "1000")              # below the tiny network's size
    (tmp_path / "in").mkdir()
    assert main(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--checkpoint", str(path),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "above the bound of 0.0 M (STARLIB_MAX_PARAMETERS)" in err and str(path) in err
    monkeypatch.setenv("STARLIB_MAX_PARAMETERS", "many")
    assert main(["zsm", "--checkpoint", str(path), "--quiet"]) == 2
    assert "$STARLIB_MAX_PARAMETERS='many' is not a positive whole number" in capsys.readouterr().err


def test_the_parameter_bound_is_twice_the_papers_network():
    assert ckpt.implied_parameters(STARConfig.paper()) == ckpt.PAPER_PARAMETERS
    assert ckpt.MAX_PARAMETERS == 2 * ckpt.PAPER_PARAMETERS
    assert ckpt.implied_parameters(STARConfig(scale=8, net_s="dbpn_mi")) < ckpt.MAX_PARAMETERS  # largest of the paper


def test_a_depth_bomb_is_refused_before_anything_is_built(saved, tmp_path):
    _, payload = saved
    payload["config"] = {**payload["config"], "n_resblock": 10**9}
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match="n_resblock=1000000000"):
        load_checkpoint(_resave(payload, tmp_path / "deep.pt"))
    assert time.perf_counter() - t0 < 0.5


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_file_and_tensor(saved, tmp_path, bad):
    _, payload = saved
    key = list(payload["state_dict"])[7]
    payload["state_dict"][key].view(-1)[0] = bad
    path = _resave(payload, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match="non-finite") as err:
        load_checkpoint(path)
    assert str(path) in _one_line(err) and key in str(err.value)


@pytest.mark.parametrize("damage,match", [
    (lambda p: p.pop("state_dict"), "no 'state_dict' entry"),
    (lambda p: p.pop("config"), "no 'config' entry"),
    (lambda p: p.update(config=[1, 2]), "'config' must be a dict"),
    (lambda p: p.update(config={"base_filter": "4096"}), "base_filter must be a positive int"),
    (lambda p: p.update(config={**p["config"], "stage2": "no"}), "stage2 must be true or false"),
    (lambda p: p.update(config={**p["config"], "widht": 3}), "unknown STARConfig fields \\['widht'\\]"),
    (lambda p: p.update(state_dict=[1, 2]), "weights must be a dict of tensors"),
    (lambda p: p["state_dict"].update({"net_s.x": 3.0}), "weight 'net_s.x' is a float"),
    (lambda p: p.update(extra=[1]), "'extra' must be a dict"),
    (lambda p: p["extra"].update(objective=5), "extra\\['objective'\\] = 5 is not a str"),
    (lambda p: p["extra"].update(train_seconds=float("nan")), "train_seconds"),
    (lambda p: p["extra"].update(steps=True), "extra\\['steps'\\] = True is not a int"),
])
def test_incomplete_or_odd_checkpoints_raise_checkpoint_error_naming_the_file(saved, tmp_path, damage, match):
    _, payload = saved
    damage(payload)
    path = _resave(payload, tmp_path / "odd.pt")
    with pytest.raises(CheckpointError, match=match) as err:
        load_checkpoint(path)
    assert str(path) in _one_line(err)


def test_a_checkpoint_without_extra_still_loads(saved, tmp_path):
    _, payload = saved
    del payload["extra"]
    _, extra = load_checkpoint(_resave(payload, tmp_path / "plain.pt"))
    assert extra == {}


class _RunsCode:
    def __reduce__(self):
        return (os.getcwd, ())


def test_pickled_code_is_refused_without_torchs_weights_only_advice(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": ckpt.FORMAT, "config": {}, "state_dict": {}, "extra": _RunsCode()}, path)
    with pytest.raises(CheckpointError, match="never runs code") as err:
        load_checkpoint(path)
    msg = _one_line(err)
    assert str(path) in msg and "getcwd" in msg and "trusted source" not in msg


@pytest.mark.parametrize("content,match", [(b"", "empty or truncated"), (None, "truncated or corrupt"),
                                           (b"not a torch file" * 8, "corrupt")])
def test_empty_truncated_and_foreign_files_are_one_line_errors(saved, tmp_path, content, match):
    good, _ = saved
    path = tmp_path / "bad.pt"
    path.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2] if content is None else content)
    with pytest.raises(CheckpointError, match=match) as err:
        load_checkpoint(path)
    assert str(path) in _one_line(err) and "PytorchStreamReader" not in str(err.value)


def test_config_errors_are_config_errors_naming_the_field():
    with pytest.raises(ConfigError, match="unknown STARConfig fields \\['widht'\\]"):
        STARConfig().replace(widht=3)
    with pytest.raises(ConfigError, match="stored as a dict"):
        STARConfig.from_dict(["feat", 4])
    with pytest.raises(ConfigError, match="unknown TrainConfig fields \\['stpes'\\]"):
        TrainConfig.from_dict({"stpes": 3})
    with pytest.raises(ConfigError, match="steps must be >= 1"):
        TrainConfig(steps=0)
    assert issubclass(ConfigError, ValueError) and issubclass(TrainingStateError, CheckpointError)


# --- training runs ------------------------------------------------------------------------------------

CFG = tiny_config(flow_refine=False, global_residual=True, resblock_init_scale=0.1)


class Synthetic:
    """Deterministic random batches (a pure function of step and item), 8x8 LR crops: milliseconds a step."""

    def batch(self, step, indices):
        items = []
        for i in indices:
            g = torch.Generator().manual_seed(1000 * step + i)
            items.append({"lr": torch.rand(3, 3, 8, 8, generator=g), "hr": torch.rand(3, 3, 32, 32, generator=g),
                          "flow_fwd": 0.05 * torch.randn(2, 8, 8, generator=g),
                          "flow_bwd": 0.05 * torch.randn(2, 8, 8, generator=g)})
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def _tcfg(steps: int = 4) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=1, patch=8, lr=1e-3, log_every=1, checkpoint_every=1)


def _train(runs: Path, steps: int = 4, **kw):
    return train(CFG, _tcfg(steps), Synthetic(), "hostile", runs_dir=runs, progress=False, **kw)


def _same_weights(a: STARnet, b: STARnet) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_second_trainer_is_refused_naming_the_holder_and_a_killed_holder_is_taken_over(tmp_path, capsys):
    """Another process holds the run (flock on run_dir/.lock): this one is refused at once with its pid and host;
    once that process is killed (-9, no cleanup) its lock file no longer blocks."""
    run_dir = tmp_path / "runs" / run_id(CFG, _tcfg(), "hostile")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from starlib.train.trainer import run_lock
            with run_lock(Path({str(run_dir)!r})):
                print("locked", flush=True)
                time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.perf_counter()
        with pytest.raises(RunLocked) as err:
            _train(tmp_path / "runs")
        assert time.perf_counter() - t0 < 2.0
        msg = str(err.value)
        assert f"pid {holder.pid}" in msg and socket.gethostname() in msg and str(run_dir / LOCK_NAME) in msg
        assert not (run_dir / "log.csv").exists(), "the refused trainer wrote to the run"
    finally:
        holder.kill()
        holder.wait(timeout=30)
    capsys.readouterr()
    result = _train(tmp_path / "runs")
    assert f"taking over the lock of pid {holder.pid}" in capsys.readouterr().out
    logged = (run_dir / "log.csv").read_text().splitlines()[1:]
    assert [int(r["step"]) for r in result.log] == [int(line.split(",")[0]) for line in logged] == [1, 2, 3, 4]
    assert (run_dir / LOCK_NAME).read_text() == "", "a clean exit leaves an empty (released) lock file"


def test_in_process_lock_and_release_after_an_interrupted_run(tmp_path):
    runs = tmp_path / "runs"

    def interrupt(step, parts):
        if step == 2:
            raise KeyboardInterrupt("simulated Ctrl-C")

    with pytest.raises(KeyboardInterrupt):
        _train(runs, on_step=interrupt)
    run_dir = next(runs.iterdir())
    with run_lock(run_dir), pytest.raises(RunLocked, match=f"pid {os.getpid()}"):
        _train(runs)
    assert int(_train(runs).log[-1]["step"]) == 4   # the lock went with the interrupted call and the with block


def test_a_stale_lock_file_of_a_dead_process_is_taken_over(tmp_path, capsys):
    runs = tmp_path / "runs"
    run_dir = runs / run_id(CFG, _tcfg(), "hostile")
    run_dir.mkdir(parents=True)
    (run_dir / LOCK_NAME).write_text(json.dumps({"pid": 2**22 + 7, "host": "gone", "since": "long ago"}))
    t0 = time.perf_counter()
    assert len(_train(runs).log) == 4
    assert time.perf_counter() - t0 < 60
    assert "taking over the lock of pid 4194311 on host gone" in capsys.readouterr().out


def test_truncated_state_falls_back_to_the_previous_one_and_resumes_exactly(tmp_path):
    straight = _train(tmp_path / "a")
    partial = _train(tmp_path / "b", stop_after=3)
    run_dir = partial.run_dir
    assert torch.load(run_dir / PREV_STATE_NAME, weights_only=True)["step"] == 2
    state = run_dir / "state.pt"
    state.write_bytes(state.read_bytes()[:-100])
    with (run_dir / "log.csv").open("a") as f:
        f.write("4,0.001,0.0")                       # a torn last line (power cut during an append)
    with pytest.warns(RuntimeWarning, match=f"resuming from the previous state {PREV_STATE_NAME} at step 2"):
        resumed = _train(tmp_path / "b")
    assert (run_dir / BROKEN_STATE_NAME).is_file()
    assert _same_weights(resumed.model, straight.model)
    def logged(run_dir):
        with (run_dir / "log.csv").open() as f:
            return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in csv.DictReader(f)]

    assert logged(resumed.run_dir) == logged(straight.run_dir) and len(logged(straight.run_dir)) == 4
    assert not (run_dir / PREV_STATE_NAME).exists(), "a finished run keeps state.pt and model.pt only"


@pytest.mark.parametrize("damage,match", [
    (lambda p: p.write_bytes(b""), "empty or truncated"),
    (lambda p: p.write_bytes(p.read_bytes()[:200]), "truncated or corrupt"),
    (lambda p: torch.save({**torch.load(p, weights_only=True), "step": 10**6}, p), "step 1000000 is not a step"),
    (lambda p: torch.save({"format": "starlib-train-state/1"}, p), "lacks the entries"),
])
def test_an_unusable_state_without_a_previous_one_names_the_file_and_the_fix(tmp_path, damage, match):
    run_dir = _train(tmp_path, stop_after=1).run_dir
    assert not (run_dir / PREV_STATE_NAME).exists()
    state = run_dir / "state.pt"
    damage(state)
    with pytest.raises(TrainingStateError, match=match) as err:
        _train(tmp_path)
    msg = _one_line(err)
    assert str(state) in msg and "Remove" in msg and "restart the run from step 0" in msg


def test_nan_weights_in_both_states_are_refused_naming_the_tensor(tmp_path):
    run_dir = _train(tmp_path, stop_after=2).run_dir
    for name in ("state.pt", PREV_STATE_NAME):
        state = torch.load(run_dir / name, weights_only=True)
        key = next(iter(state["model"]))
        state["model"][key].view(-1)[0] = float("nan")
        torch.save(state, run_dir / name)
    with pytest.raises(TrainingStateError, match=f"weight {key} has 1 non-finite") as err:
        _train(tmp_path)
    assert str(run_dir / "state.pt") in str(err.value) and str(run_dir / PREV_STATE_NAME) in str(err.value)


def test_a_damaged_final_model_of_a_run_names_the_fix(tmp_path):
    run_dir = _train(tmp_path).run_dir
    (run_dir / "model.pt").write_bytes((run_dir / "model.pt").read_bytes()[:300])
    with pytest.raises(TrainingStateError, match="remove it to finish the run again from its state.pt") as err:
        _train(tmp_path)
    assert str(run_dir / "model.pt") in _one_line(err)
    (run_dir / "model.pt").unlink()
    assert _same_weights(_train(tmp_path).model, _train(tmp_path / "again").model)  # state.pt finishes it


def test_a_finetune_from_a_checkpoint_with_nan_weights_is_refused(tmp_path):
    model = STARnet(CFG)
    with torch.no_grad():
        next(model.parameters()).view(-1)[3] = float("nan")
    parent = save_checkpoint(model, tmp_path / "parent.pt")
    with pytest.raises(CheckpointError, match="non-finite") as err:
        train(CFG, TrainConfig(objective="STAR-ST", steps=1, batch_size=1, patch=8, init_from=str(parent)),
              Synthetic(), "hostile", runs_dir=tmp_path / "runs", progress=False)
    assert str(parent) in _one_line(err)


# --- metrics that cannot be computed ------------------------------------------------------------------

def test_niqe_that_cannot_be_computed_is_recorded_not_dropped():
    rng = np.random.default_rng(0)
    textured = rng.integers(0, 256, (192, 192, 3), dtype=np.uint8)
    flat = np.full((192, 192, 3), 128, np.uint8)
    small = textured[:96, :96]
    ok, undefined, tiny = (score(f, f, "sr_t", ("psnr",), niqe=True) for f in (textured, flat, small))
    assert ok["niqe_status"] == NIQE_OK and np.isfinite(ok["niqe"])
    assert undefined["niqe_status"] == NIQE_UNDEFINED and np.isnan(undefined["niqe"])
    assert tiny["niqe_status"] == NIQE_TOO_SMALL and np.isnan(tiny["niqe"])
    assert "niqe_status" not in score(textured, textured, "sr_t", ("psnr",))


def _items(output, niqe, status):
    return pd.DataFrame({"dataset": "d", "item": [f"i{k}" for k in range(len(niqe))], "output": output,
                         "seconds": 0.1, "psnr": 30.0 + np.arange(len(niqe)), "niqe": niqe, "niqe_status": status})


def test_summaries_count_items_a_metric_could_not_be_computed_on():
    nan = float("nan")
    per_item = pd.concat([
        _items("sr_t", [4.0, nan, 6.0], [NIQE_OK, NIQE_UNDEFINED, NIQE_OK]),          # one flat frame
        _items("sr_mid", [nan, nan], [NIQE_UNDEFINED, NIQE_UNDEFINED]),               # all flat
        _items("lr_mid", [nan, nan], [NIQE_TOO_SMALL, NIQE_TOO_SMALL]),               # NIQE does not apply
    ], ignore_index=True)
    s = summarize(per_item).set_index(["output", "metric"])
    assert s.loc[("sr_t", "niqe"), "mean"] == 5.0                                     # finite values unchanged
    assert s.loc[("sr_t", "niqe"), ["n", "n_missing"]].tolist() == [2, 1]
    assert s.loc[("sr_mid", "niqe"), ["n", "n_missing"]].tolist() == [0, 2]
    assert np.isnan(s.loc[("sr_mid", "niqe"), "mean"])
    assert ("lr_mid", "niqe") not in s.index and s.loc[("lr_mid", "psnr"), "n_missing"] == 0
    rows = table_rows(None, [Entry("ours", per_item)]).set_index(["output", "metric"])
    assert rows.loc[("sr_t", "niqe"), ["mean", "n", "n_missing"]].tolist() == [5.0, 2, 1]
    assert rows.loc[("sr_mid", "niqe"), ["n", "n_missing"]].tolist() == [0, 2]
    assert ("lr_mid", "niqe") not in rows.index
