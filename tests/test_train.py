"""Training: objectives, overfitting one real triplet, exact resume, run reuse, divergence, DDP."""

import csv
from pathlib import Path

import numpy as np
import pytest

from starlib.train.trainer import TIMING_COLUMNS
import torch

from helpers import tiny_config
from starlib.evaluation.baselines import bicubic_and_average
from starlib.data import RandomCropWindows, Window, davis_triplets, load_window, middlebury_other, to_tensor, to_uint8
from starlib.data.degrade import flow_to_tensor
from starlib.data.samples import flow_pair
from starlib.data.images import write_png
from starlib.flow import FlowCache
from starlib.metrics import psnr
from starlib.models import STARnet, save_checkpoint
from starlib.train.trainer import run_id
from starlib.train import (LossWeights, STARLoss, TrainConfig, TrainingDiverged, VGGFeatures, VGGWeightsMissing,
                           find_vgg19_weights, train)

SMALL = dict(global_residual=True, resblock_init_scale=0.1, fr_correction="tanh")


@pytest.fixture(scope="module")
def davis_crops(tmp_path_factory):
    cache = FlowCache(tmp_path_factory.mktemp("flows"))
    return RandomCropWindows(davis_triplets()[:2], patch=16, samples_per_epoch=100, flow_cache=cache, seed=1)


def _log(run_dir: Path) -> list[dict]:
    with (run_dir / "log.csv").open() as f:
        return list(csv.DictReader(f))


# --- losses ----------------------------------------------------------------------------------------

def test_objectives_weight_the_right_outputs(davis_crops):
    model = STARnet(tiny_config())
    batch = davis_crops.batch(0, range(2))
    out = model(batch["lr"][:, 0], batch["lr"][:, -1], batch["flow_fwd"], batch["flow_bwd"])
    _, star = STARLoss("STAR")(out, batch)
    assert {"l1_sr_mid", "l1_sr_t", "l1_sr_t1", "l1_lr_mid", "flow"} <= set(star)
    _, s_only = STARLoss("STAR-S", LossWeights(flow=0))(out, batch)
    assert set(s_only) == {"l1_sr_t", "l1_sr_t1", "total"}
    assert s_only["total"] == pytest.approx(s_only["l1_sr_t"] + s_only["l1_sr_t1"], rel=1e-5)
    _, st = STARLoss("STAR-ST")(out, batch)
    expected = st["l1_sr_mid"] + 0.5 * (st["l1_sr_t"] + st["l1_sr_t1"]) + 0.1 * st["flow"]
    assert st["total"] == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="unknown objective"):
        STARLoss("STAR-X")


def test_perceptual_loss_path_runs_with_random_vgg(davis_crops):
    """L_f = L_r + 0.1 * VGG19 relu5_4 MSE (random VGG weights stand in for ImageNet ones here)."""
    model = STARnet(tiny_config())
    batch = davis_crops.batch(0, range(1))
    out = model(batch["lr"][:, 0], batch["lr"][:, -1], batch["flow_fwd"], batch["flow_bwd"])
    vgg = VGGFeatures(allow_random=True)
    total_f, parts_f = STARLoss("STAR-T_LR", LossWeights(perceptual=0.1, flow=0), vgg)(out, batch)
    _, parts_r = STARLoss("STAR-T_LR", LossWeights(perceptual=0.0, flow=0))(out, batch)
    assert parts_f["vgg_lr_mid"] > 0
    assert parts_f["total"] == pytest.approx(parts_r["total"] + 0.1 * parts_f["vgg_lr_mid"], rel=1e-5)
    total_f.backward()
    assert all(p.grad is None for p in vgg.parameters())  # VGG is frozen


def test_missing_vgg_weights_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("STARLIB_VGG19", str(tmp_path / "nope.pth"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(VGGWeightsMissing, match="nope.pth.*perceptual_weight=0"):
        find_vgg19_weights()


# --- training loop ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_tiny_star_overfits_one_middlebury_triplet(tmp_path):
    """A tiny STAR memorises a 64x64 crop of RubberWhale: its ST-SR middle frame must beat
    bicubic + frame averaging by at least 3 dB within a few hundred steps."""
    stack = load_window([w for w in middlebury_other() if w.name == "RubberWhale"][0])
    paths = [write_png(tmp_path / f"{k}.png", np.ascontiguousarray(f[150:214, 200:264])) for k, f in enumerate(stack.hr)]
    window = Window("RubberWhale-crop", tuple(paths))
    cache = FlowCache(tmp_path / "flows")
    data = RandomCropWindows([window], patch=0, augment=False, samples_per_epoch=1, flow_cache=cache)
    cfg = tiny_config(base_filter=32, feat=16, motion_feat=16, **SMALL)
    result = train(cfg, TrainConfig(steps=250, batch_size=1, lr=1e-3, lr_milestones=(0.9,), log_every=50,
                                    checkpoint_every=1000), data, "overfit", runs_dir=tmp_path / "runs", progress=False)
    crop = load_window(window)
    fwd, bwd = flow_pair(crop.lr[0], crop.lr[-1], cache)
    with torch.no_grad():
        out = result.model.eval()(to_tensor(crop.lr[0])[None], to_tensor(crop.lr[-1])[None],
                                  flow_to_tensor(fwd)[None], flow_to_tensor(bwd)[None])
    ours = psnr(crop.hr[1], to_uint8(out["sr_mid"][0]))
    baseline = psnr(crop.hr[1], bicubic_and_average(crop)["sr_mid"])
    assert ours >= baseline + 3.0, (ours, baseline)


def test_resume_continues_exactly(tmp_path, davis_crops):
    cfg = tiny_config(**SMALL)
    tcfg = TrainConfig(steps=6, batch_size=2, patch=16, lr=1e-3, log_every=1, checkpoint_every=3)
    straight = train(cfg, tcfg, davis_crops, "resume-test", runs_dir=tmp_path / "a", progress=False)
    first = train(cfg, tcfg, davis_crops, "resume-test", runs_dir=tmp_path / "b", progress=False, stop_after=3)
    assert not (first.run_dir / "model.pt").exists() and (first.run_dir / "state.pt").exists()
    resumed = train(cfg, tcfg, davis_crops, "resume-test", runs_dir=tmp_path / "b", progress=False)
    strip = lambda rows: [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]  # noqa: E731
    assert strip(_log(resumed.run_dir)) == strip(_log(straight.run_dir)) and len(_log(straight.run_dir)) == 6
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    again = train(cfg, tcfg, davis_crops, "resume-test", runs_dir=tmp_path / "b", progress=False)
    assert again.reused and len(again.log) == 6


def test_validation_observes_without_changing_the_run(tmp_path, davis_crops):
    """A validator scores the model before step 1, every N steps and at the end into val.csv; the run (name,
    losses, weights) is the same with and without it, and a resumed run keeps its earlier validation rows."""
    cfg = tiny_config(**SMALL)
    tcfg = TrainConfig(steps=5, batch_size=2, patch=16, lr=1e-3, log_every=1, checkpoint_every=2)
    calls = []

    def validator(model):
        assert not model.training and not torch.is_grad_enabled()
        calls.append(1)
        return [{"output": "sr_t", "psnr": float(sum(p.sum() for p in model.parameters())), "baseline_psnr": 0.0}]

    plain = train(cfg, tcfg, davis_crops, "val", runs_dir=tmp_path / "a", progress=False)
    watched = train(cfg, tcfg, davis_crops, "val", runs_dir=tmp_path / "b", progress=False, validator=validator,
                    validate_every=2, stop_after=2)
    watched = train(cfg, tcfg, davis_crops, "val", runs_dir=tmp_path / "b", progress=False, validator=validator,
                    validate_every=2)
    assert watched.run_dir.name == plain.run_dir.name
    strip = lambda rows: [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]  # noqa: E731
    assert strip(_log(watched.run_dir)) == strip(_log(plain.run_dir))
    for (name, a), b in zip(plain.model.state_dict().items(), watched.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert [int(r["step"]) for r in watched.val] == [0, 2, 4, 5] and len(calls) == 4
    assert [int(r["step"]) for r in train(cfg, tcfg, davis_crops, "val", runs_dir=tmp_path / "b",
                                          progress=False).val] == [0, 2, 4, 5]      # read back on reuse


def test_kill_between_log_and_checkpoint_resumes_cleanly(tmp_path, davis_crops):
    """Killed after logging step 3 but before its checkpoint: the resumed run restarts from step 2's state,
    drops the orphan log row and still matches an uninterrupted run."""
    cfg = tiny_config(**SMALL)
    tcfg = TrainConfig(steps=5, batch_size=1, patch=16, lr=1e-3, log_every=1, checkpoint_every=2)

    def kill_at_3(step, parts):
        if step == 3:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tcfg, davis_crops, "kill", runs_dir=tmp_path / "b", progress=False, on_step=kill_at_3)
    run_dir = next((tmp_path / "b").iterdir())
    assert [r["step"] for r in _log(run_dir)] == ["1", "2", "3"]
    assert torch.load(run_dir / "state.pt", weights_only=True)["step"] == 2
    resumed = train(cfg, tcfg, davis_crops, "kill", runs_dir=tmp_path / "b", progress=False)
    straight = train(cfg, tcfg, davis_crops, "kill", runs_dir=tmp_path / "a", progress=False)
    strip = lambda rows: [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]  # noqa: E731
    assert strip(_log(resumed.run_dir)) == strip(_log(straight.run_dir))


def test_nan_stops_training_with_a_clear_error(tmp_path, davis_crops):
    class Poisoned:
        def batch(self, step, indices):
            b = davis_crops.batch(step, indices)
            b["lr"][:] = float("nan")
            return b

    with pytest.raises(TrainingDiverged, match="loss became nan at step 1"):
        train(tiny_config(), TrainConfig(steps=2, batch_size=1, patch=16), Poisoned(), "nan", runs_dir=tmp_path,
              progress=False)


def test_finetune_starts_from_a_checkpoint_of_the_same_network(tmp_path, davis_crops):
    cfg = tiny_config(**SMALL)
    base = save_checkpoint(STARnet(cfg), tmp_path / "star.pt")
    tuned = train(cfg, TrainConfig(objective="STAR-ST", steps=1, batch_size=1, patch=16, init_from=str(base)),
                  davis_crops, "ft", runs_dir=tmp_path, progress=False)
    assert tuned.run_dir.name.startswith("STAR-ST-")
    with pytest.raises(ValueError, match="holds another network.*tsr_paths: init='both', run='hr'"):
        train(cfg.replace(tsr_paths="hr"), TrainConfig(objective="STAR-ST", steps=1, batch_size=1, patch=16,
                                                       init_from=str(base)), davis_crops, "ft", runs_dir=tmp_path,
              progress=False)


def test_run_names_depend_on_the_parent_run_and_file_content_not_on_paths(tmp_path, davis_crops, monkeypatch):
    """A finetune started from a run is named by that run's name; one started from a file by its content: the
    same run gets the same name from any working directory, and a missing parent is named in the error."""
    cfg = tiny_config(**SMALL)
    star = train(cfg, TrainConfig(steps=1, batch_size=1, patch=16), davis_crops, "ft", runs_dir=tmp_path / "runs",
                 progress=False)
    by_name = TrainConfig(objective="STAR-ST", steps=1, batch_size=1, patch=16, init_from=star.run_dir.name)
    tuned = train(cfg, by_name, davis_crops, "ft", runs_dir=tmp_path / "runs", progress=False)
    assert tuned.run_dir.name == run_id(cfg, by_name, "ft") and tuned.run_dir.parent == tmp_path / "runs"
    copy = tmp_path / "elsewhere" / "model.pt"
    copy.parent.mkdir()
    copy.write_bytes((star.run_dir / "model.pt").read_bytes())
    monkeypatch.chdir(tmp_path)
    relative = TrainConfig(objective="STAR-ST", steps=1, batch_size=1, patch=16, init_from="elsewhere/model.pt")
    absolute = TrainConfig(objective="STAR-ST", steps=1, batch_size=1, patch=16, init_from=str(copy))
    assert run_id(cfg, relative, "ft") == run_id(cfg, absolute, "ft") != run_id(cfg, by_name, "ft")
    with pytest.raises(FileNotFoundError, match="STAR-nothere"):
        train(cfg, TrainConfig(objective="STAR-ST", steps=1, batch_size=1, patch=16, init_from="STAR-nothere"),
              davis_crops, "ft", runs_dir=tmp_path / "runs", progress=False)


def test_star_t_hr_trains_on_hr_inputs(tmp_path):
    data = RandomCropWindows(davis_triplets()[:1], patch=24, samples_per_epoch=4, flow_on="hr",
                             flow_cache=FlowCache(tmp_path / "flows"))
    run = train(tiny_config(**SMALL), TrainConfig(objective="STAR-T_HR", inputs="hr", steps=2, batch_size=1, patch=24,
                                                  log_every=1), data, "thr", runs_dir=tmp_path, progress=False)
    assert {"l1_lr_mid", "total"} <= set(run.log[-1])
    with pytest.raises(ValueError, match="STAR-T_HR trains on HR inputs"):
        TrainConfig(objective="STAR-T_HR")


# --- distributed data parallel on CPU (gloo) -------------------------------------------------------

def _ddp_worker(rank: int, world: int, store: str, out_dir: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    data = RandomCropWindows(davis_triplets()[:2], patch=16, samples_per_epoch=100,
                             flow_cache=FlowCache(Path(out_dir) / "flows"), seed=1)
    cfg = tiny_config(flow_refine=False, **{k: v for k, v in SMALL.items() if k != "fr_correction"})
    res = train(cfg, TrainConfig(steps=3, batch_size=4, patch=16, lr=1e-3, log_every=1), data, "ddp",
                runs_dir=Path(out_dir) / "runs", progress=False)
    torch.save(res.model.state_dict(), Path(out_dir) / f"rank{rank}.pt")
    dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_on_cpu_matches_single_process(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert all(torch.equal(r0[k], r1[k]) for k in r0), "ranks drifted apart"
    data = RandomCropWindows(davis_triplets()[:2], patch=16, samples_per_epoch=100,
                             flow_cache=FlowCache(tmp_path / "flows"), seed=1)
    cfg = tiny_config(flow_refine=False, **{k: v for k, v in SMALL.items() if k != "fr_correction"})
    single = train(cfg, TrainConfig(steps=3, batch_size=4, patch=16, lr=1e-3, log_every=1), data, "ddp",
                   runs_dir=tmp_path / "single", progress=False)
    for k, v in single.model.state_dict().items():
        assert torch.allclose(v, r0[k], atol=1e-5, rtol=1e-4), k
    logged = _log(tmp_path / "runs" / single.run_dir.name)
    assert len(logged) == 3


def test_channels_last_and_bf16_autocast_train(tmp_path, davis_crops):
    run = train(tiny_config(**SMALL), TrainConfig(steps=2, batch_size=1, patch=16, log_every=1, channels_last=True,
                                                  bf16=True), davis_crops, "fast-paths", runs_dir=tmp_path,
                progress=False)
    assert len(run.log) == 2 and all(np.isfinite(float(r["total"])) for r in run.log)


def test_micro_batches_accumulate_to_the_whole_batch_gradient(tmp_path, davis_crops):
    """Without BatchNorm (no FR), 4 items as 4 micro-batches of 1 train the same network as one batch of 4."""
    cfg = tiny_config(flow_refine=False, **{k: v for k, v in SMALL.items() if k != "fr_correction"})
    whole = train(cfg, TrainConfig(steps=3, batch_size=4, patch=16, lr=1e-3, log_every=1), davis_crops, "mb",
                  runs_dir=tmp_path / "whole", progress=False)
    micro = train(cfg, TrainConfig(steps=3, batch_size=4, patch=16, lr=1e-3, log_every=1, micro_batch=1),
                  davis_crops, "mb", runs_dir=tmp_path / "micro", progress=False)
    assert micro.run_dir.name != whole.run_dir.name
    for a, b in zip(whole.log, micro.log):
        assert float(b["total"]) == pytest.approx(float(a["total"]), rel=1e-5)
        assert float(b["grad_norm"]) == pytest.approx(float(a["grad_norm"]), rel=1e-4)
    for (name, a), b in zip(whole.model.state_dict().items(), micro.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-4), name


def test_micro_batch_with_flow_refinement_runs_and_keeps_run_names(tmp_path, davis_crops):
    """With FR's BatchNorm, micro-batches of 1 give per-item statistics (the authors' 1 item per GPU); a config
    at the default micro_batch hashes as before the field existed (existing run folders keep their names)."""
    run = train(tiny_config(**SMALL), TrainConfig(steps=2, batch_size=3, patch=16, log_every=1, micro_batch=2),
                davis_crops, "mb-fr", runs_dir=tmp_path, progress=False)
    assert len(run.log) == 2 and all(np.isfinite(float(r["total"])) for r in run.log)
    assert "micro_batch" not in TrainConfig().to_dict() and TrainConfig(micro_batch=1).to_dict()["micro_batch"] == 1
    with pytest.raises(ValueError, match="micro_batch"):
        TrainConfig(micro_batch=-1)


def test_dataloader_workers_prepare_the_same_batches_and_train_the_same_run(tmp_path, davis_crops):
    """Issue 13, item 3: batches prepared ahead by DataLoader workers are the in-process ones, step for step,
    so a run with workers has the same name, losses and weights as one without."""
    from starlib.train.trainer import step_batches
    ahead = list(step_batches(davis_crops, 3, 6, [0, 1], workers=2))
    assert len(ahead) == 3
    for step, batch in zip(range(3, 6), ahead):
        direct = davis_crops.batch(step, [0, 1])
        assert batch.keys() == direct.keys() and all(torch.equal(batch[k], direct[k]) for k in direct)
    cfg = tiny_config(**SMALL)
    plain = train(cfg, TrainConfig(steps=3, batch_size=2, patch=16, log_every=1), davis_crops, "loader",
                  runs_dir=tmp_path / "a", progress=False)
    workers = train(cfg, TrainConfig(steps=3, batch_size=2, patch=16, log_every=1, loader_workers=2), davis_crops,
                    "loader", runs_dir=tmp_path / "b", progress=False)
    assert plain.run_dir.name == workers.run_dir.name
    assert [r["total"] for r in plain.log] == [r["total"] for r in workers.log]
    for k, v in plain.model.state_dict().items():
        assert torch.equal(v, workers.model.state_dict()[k]), k


def test_adamax_implementations_train_the_same_run(tmp_path, davis_crops):
    """Issue 13, item 4: the multi-tensor (foreach) Adamax makes the same update as the loop, so the run keeps
    its name; an unknown implementation is refused by name."""
    cfg = tiny_config(**SMALL)
    loop = train(cfg, TrainConfig(steps=3, batch_size=2, patch=16, log_every=1, adamax="loop"), davis_crops,
                 "adamax", runs_dir=tmp_path / "loop", progress=False)
    multi = train(cfg, TrainConfig(steps=3, batch_size=2, patch=16, log_every=1, adamax="foreach"), davis_crops,
                  "adamax", runs_dir=tmp_path / "foreach", progress=False)
    assert len(loop.log) == len(multi.log) == 3
    assert loop.run_dir.name == multi.run_dir.name == run_id(cfg, TrainConfig(steps=3, batch_size=2, patch=16,
                                                                                log_every=1), "adamax")
    for a, b in zip(loop.log, multi.log):
        assert float(b["total"]) == pytest.approx(float(a["total"]), rel=1e-5)
    for k, v in loop.model.state_dict().items():
        assert torch.allclose(v, multi.model.state_dict()[k], atol=1e-6, rtol=1e-5), k
    with pytest.raises(ValueError, match="adamax"):
        TrainConfig(adamax="fused-ish")


def test_compiled_training_matches_eager_and_saves_plain_weights(tmp_path, davis_crops):
    """torch.compile (a tracing backend here; inductor on a GPU) trains the same network as eager mode, keeps
    the run name, and the checkpoint holds the plain model's keys (no ``_orig_mod.``)."""
    cfg = tiny_config(**SMALL)
    eager = train(cfg, TrainConfig(steps=2, batch_size=1, patch=16, log_every=1), davis_crops, "compile",
                  runs_dir=tmp_path / "eager", progress=False)
    compiled = train(cfg, TrainConfig(steps=2, batch_size=1, patch=16, log_every=1, compile="aot_eager"),
                     davis_crops, "compile", runs_dir=tmp_path / "compiled", progress=False)
    assert eager.run_dir.name == compiled.run_dir.name and len(eager.log) == len(compiled.log) == 2
    for a, b in zip(eager.log, compiled.log):
        assert float(b["total"]) == pytest.approx(float(a["total"]), rel=1e-4)
    saved = torch.load(compiled.run_dir / "model.pt", weights_only=False)
    keys = saved["state_dict"].keys() if "state_dict" in saved else saved.keys()
    assert not any("_orig_mod" in k for k in keys)
    with pytest.raises(ValueError, match="torch.compile backend"):
        TrainConfig(compile="turbo")


def test_strict_fp32_is_a_run_of_its_own_and_restores_torch_settings(tmp_path, davis_crops):
    """The TF32 switch: strict fp32 names a different run (the arithmetic differs on a GPU); training sets
    torch's TF32 flags for its duration only."""
    from starlib.util.hardware import tf32_arithmetic
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    seen: list[tuple[bool, bool]] = []
    cfg = tiny_config(**SMALL)
    strict = TrainConfig(steps=1, batch_size=1, patch=16, log_every=1, strict_fp32=True)
    train(cfg, strict, davis_crops, "tf32", runs_dir=tmp_path, progress=False,
          on_step=lambda step, parts: seen.append((torch.backends.cuda.matmul.allow_tf32,
                                                   torch.backends.cudnn.allow_tf32)))
    assert seen == [(False, False)]
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before
    seen.clear()
    train(cfg, TrainConfig(steps=1, batch_size=1, patch=16, log_every=1), davis_crops, "tf32", runs_dir=tmp_path,
          progress=False, on_step=lambda step, parts: seen.append((torch.backends.cuda.matmul.allow_tf32,
                                                                   torch.backends.cudnn.allow_tf32)))
    assert seen == [(True, True)]                                  # the default: TF32 for both
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before
    assert run_id(cfg, strict, "tf32") != run_id(cfg, TrainConfig(steps=1, batch_size=1, patch=16, log_every=1),
                                                 "tf32")
    assert "strict_fp32" not in TrainConfig().to_dict()
    with tf32_arithmetic(allowed=True):
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before
