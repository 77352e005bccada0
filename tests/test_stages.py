"""The staged recipe (issue 12, item 1): (a) Net_S alone -> (c) STAR w/o FR -> (d) STAR with FR from (c) and
(b) the U-Net alone -> (e) finetunes; every stage its own run, shared by the tables that need it; any stage
from a weights file, ours or the authors'."""

import dataclasses

import pytest
import torch

from starlib.models import STARConfig, STARnet, save_checkpoint
from starlib.models.checkpoint import CheckpointError
from starlib.study.trainings import recipes as R
from starlib.study.trainings import plans as P
from starlib.study.trainings import training_runs as TR
from starlib.study.setup.profile import load_profile, parse_profile
from starlib.study.setup.workspace import Workspace
from starlib.train import TrainConfig
from starlib.train.init import initialise
from starlib.train.losses import LossWeights, STARLoss
from starlib.util.config import ConfigError

TINY = dict(base_filter=8, feat=4, motion_feat=4, num_stages=1, n_resblock=1, netm_resblocks=1, netd_resblocks=1,
            tsr_lr_resblocks=1, fr_width=4, fr_depth=2, global_residual=True)


@pytest.fixture
def ws(tmp_path):
    return Workspace.create("smoke", runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache", progress=False)


def _chain(ws, what):
    return [(t.objective, t.stage, P.run_configs(ws, t)[1]) for t in P.stages(ws, what)]


def test_the_chain_of_a_finetune_runs_every_stage_once_upstream_first(ws):
    chain = _chain(ws, R.Training("STAR-ST"))
    assert [(o, s) for o, s, _ in chain] == [("STAR-S", ""), ("STAR", "core"), ("FR", ""), ("STAR", ""),
                                             ("STAR-ST", "")]
    names = [P.run_name(ws, t) for t in P.stages(ws, R.Training("STAR-ST"))]
    (_, _, net_s), (_, _, core), (_, _, fr), (_, _, star), (_, _, st) = chain
    assert core.init_net_s == names[0] and core.steps == ws.profile.stages.core_steps
    assert star.init_from == names[1] and star.init_flow_net == names[2] and not star.init_net_s
    assert st.init_from == names[3] and fr.steps == ws.profile.stages.fr_steps
    assert net_s.steps == ws.profile.stages.net_s_steps


def test_stages_are_shared_by_the_tables_that_need_them(ws):
    prof = ws.profile
    star = P.stages(ws, R.Training("STAR"))
    no_fr = P.stages(ws, R.Training("STAR", {"flow_refine": False}))
    dbpn = P.stages(ws, R.Training("STAR", {"net_s": "dbpn"}))
    no_stage2 = P.stages(ws, R.Training("STAR", {"stage2": False}))
    name = lambda t: P.run_name(ws, t)                                   # noqa: E731
    # Table 8's RBPN and DBPN are stage (a) of STAR and of Table 4's DBPN variant
    assert name(star[0]) == name(R.net_s_alone(prof, "RBPN")) and name(dbpn[0]) == name(R.net_s_alone(prof, "DBPN"))
    # w/o FR continues STAR's own stage (c) for the same steps without FR (same schedule as the full row)
    assert [name(t) for t in no_fr[:2]] == [name(t) for t in star[:2]] and len(no_fr) == 3
    assert P.run_configs(ws, no_fr[-1])[1].steps == P.run_configs(ws, star[-1])[1].steps
    assert not P.run_configs(ws, no_fr[-1])[1].init_flow_net
    # a variant that keeps Net_S and the U-Net shares (a) and (b), not (c)
    assert name(no_stage2[0]) == name(star[0]) and name(no_stage2[2]) == name(star[2])
    assert name(no_stage2[1]) != name(star[1])


def test_without_stages_a_star_run_starts_from_scratch(ws):
    prof = dataclasses.replace(ws.profile, stages=dataclasses.replace(ws.profile.stages, net_s=False, fr=False))
    ws2 = dataclasses.replace(ws, profile=prof)
    (only,) = P.stages(ws2, R.Training("STAR"))
    cfg = P.run_configs(ws2, only)[1]
    assert not (cfg.init_from or cfg.init_net_s or cfg.init_flow_net)


def test_a_staged_smoke_chain_trains_and_each_stage_starts_from_the_last(ws):
    result = TR.train_run(ws, R.Training("STAR"))
    chain = P.stages(ws, R.Training("STAR"))
    runs = [ws.runs / P.run_name(ws, t) for t in chain]
    assert all((r / "model.pt").is_file() for r in runs)
    fr_log = (runs[2] / "log.csv").read_text().splitlines()
    assert "flow_unrefined" in fr_log[0]                                 # the FR stage logs what it has to beat
    assert result.run_dir == runs[-1] and TR.train_run(ws, R.Training("STAR")).reused


def _saved(cfg, path, seed):
    torch.manual_seed(seed)
    model = STARnet(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    save_checkpoint(model, path)
    return model


def test_initialise_loads_net_s_the_core_and_the_unet_from_their_own_runs(tmp_path):
    full = STARConfig(**TINY)
    net_s = _saved(full.replace(net_s_only=True, use_motion=False, flow_refine=False), tmp_path / "a.pt", 1)
    core = _saved(full.replace(flow_refine=False), tmp_path / "c.pt", 2)
    unet = _saved(full.replace(fr_only=True), tmp_path / "b.pt", 3)
    model = STARnet(full)
    loaded = initialise(model, TrainConfig(init_from=str(tmp_path / "c.pt"), init_flow_net=str(tmp_path / "b.pt")),
                        tmp_path)
    assert loaded == {"init_from": "everything but the flow-refinement U-Net", "init_flow_net": "flow_net"}
    own = model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in core.state_dict().items())
    assert all(torch.equal(own[k], v) for k, v in unet.state_dict().items())
    c = STARnet(full.replace(flow_refine=False))
    initialise(c, TrainConfig(init_net_s=str(tmp_path / "a.pt")), tmp_path)
    assert all(torch.equal(c.state_dict()[k], v) for k, v in net_s.state_dict().items())


def test_the_authors_files_load_through_the_key_conversion_and_a_mismatch_is_named(tmp_path):
    full = STARConfig(**TINY)
    donor = STARnet(full)
    rbpn = {f"module.{k[len('net_s.'):]}": v + 1 for k, v in donor.state_dict().items() if k.startswith("net_s.")}
    torch.save(rbpn, tmp_path / "rbpn_pretrained_F2_4x.pth")          # the authors' layout: RBPN alone
    unet = {f"module.{k[len('flow_net.'):]}": v + 2 for k, v in donor.state_dict().items()
            if k.startswith("flow_net.")}
    torch.save(unet, tmp_path / "flow_refinement.pth")
    model = STARnet(full)
    initialise(model, TrainConfig(init_net_s=str(tmp_path / "rbpn_pretrained_F2_4x.pth"),
                                  init_flow_net=str(tmp_path / "flow_refinement.pth")), tmp_path)
    own = model.state_dict()
    assert torch.equal(own["net_s.feat0.conv.weight"], rbpn["module.feat0.conv.weight"])
    assert torch.equal(own["flow_net.outc.conv.weight"], unet["module.outc.conv.weight"])
    wider = STARnet(full.replace(base_filter=16))
    with pytest.raises(CheckpointError, match=r"rbpn_pretrained_F2_4x\.pth \(net_s\).*shape mismatch"):
        initialise(wider, TrainConfig(init_net_s=str(tmp_path / "rbpn_pretrained_F2_4x.pth")), tmp_path)
    with pytest.raises(FileNotFoundError, match=r"init_net_s: .*absent\.pth does not exist"):
        initialise(model, TrainConfig(init_net_s=str(tmp_path / "absent.pth")), tmp_path)
    with pytest.raises(FileNotFoundError, match=r"train run 'STAR-S-0000000000' first"):
        initialise(model, TrainConfig(init_net_s="STAR-S-0000000000"), tmp_path)
    with pytest.raises(ConfigError, match="no flow_net"):
        initialise(STARnet(full.replace(flow_refine=False)),
                   TrainConfig(init_flow_net=str(tmp_path / "flow_refinement.pth")), tmp_path)


def test_init_from_another_network_is_refused_naming_the_difference(tmp_path):
    full = STARConfig(**TINY)
    _saved(full.replace(stage2=False), tmp_path / "x.pt", 4)
    with pytest.raises(ConfigError, match="stage2"):
        initialise(STARnet(full), TrainConfig(init_from=str(tmp_path / "x.pt")), tmp_path)


def test_a_weights_file_enters_the_run_name_by_content(tmp_path):
    from starlib.train import run_id
    full = STARConfig(**TINY)
    _saved(full.replace(fr_only=True), tmp_path / "b.pt", 3)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.pt").write_bytes((tmp_path / "b.pt").read_bytes())
    a = run_id(full, TrainConfig(init_flow_net=str(tmp_path / "b.pt")), "d")
    assert a == run_id(full, TrainConfig(init_flow_net=str(tmp_path / "elsewhere" / "b.pt")), "d")
    assert a != run_id(full, TrainConfig(), "d")


def test_the_unet_alone_learns_to_refine_towards_the_fr_targets():
    """FR alone from its default initialisation: the flow loss must fall well below where it starts."""
    torch.manual_seed(0)
    cfg = STARConfig(**TINY, fr_only=True, fr_correction="tanh")
    model = STARnet(cfg)
    assert model.output_names == () and not hasattr(model, "net_s")
    loss_fn = STARLoss("FR", LossWeights(flow=1.0))
    lr = torch.randn(2, 2, 3, 16, 16)
    flow = 0.05 * torch.randn(2, 2, 16, 16)
    batch = {"lr": lr, "flow_fwd": flow, "flow_bwd": -flow, "flow_fwd_gt": flow, "flow_bwd_gt": -flow}
    opt = torch.optim.Adamax(model.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        out = model(lr[:, 0], lr[:, 1], flow, -flow)
        assert set(out) == {"flow_fwd", "flow_bwd"}
        loss, parts = loss_fn(out, batch)
        first = parts["flow"] if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert parts["flow"] < 0.1 * first and parts["flow_unrefined"] == 0.0


def test_stage_files_in_a_profile_must_exist_and_init_fields_belong_to_the_recipes(tmp_path):
    import tomllib
    from starlib.study.setup.profile import PROFILE_DIR
    data = tomllib.loads((PROFILE_DIR / "smoke.toml").read_text())
    data["stages"]["net_s_file"] = "weights/absent_rbpn.pth"
    with pytest.raises(ConfigError, match=r"\[stages\] net_s_file = 'weights/absent_rbpn.pth'.*does not exist"):
        parse_profile("smoke", data, tmp_path / "smoke.toml")
    data = tomllib.loads((PROFILE_DIR / "smoke.toml").read_text())
    data["train"]["init_net_s"] = "x.pth"
    with pytest.raises(ConfigError, match="init_net_s"):
        parse_profile("smoke", data, tmp_path / "smoke.toml")
    weights = tmp_path / "rbpn.pth"
    torch.save({}, weights)
    data = tomllib.loads((PROFILE_DIR / "smoke.toml").read_text())
    data["stages"]["net_s_file"] = str(weights)
    prof = parse_profile("smoke", data, tmp_path / "smoke.toml")
    ws = Workspace.create(prof, runs_dir=tmp_path / "runs", progress=False)
    chain = P.stages(ws, R.Training("STAR"))
    assert [t.objective for t in chain] == ["STAR", "FR", "STAR"]       # (a) comes from the file
    assert P.run_configs(ws, chain[0])[1].init_net_s == str(weights)


def test_every_shipped_profile_resolves_the_chain_of_every_objective():
    from starlib.paper.objectives import OBJECTIVES
    from starlib.study.setup.profile import available_profiles
    for name in available_profiles():
        prof = load_profile(name)
        if prof.data.train_data == "vimeo90k" and not prof.data.vimeo_root:
            continue                                                    # run names need the data's size
        ws = Workspace.create(prof, progress=False)
        for objective in OBJECTIVES:
            assert P.stages(ws, R.Training(objective))[-1].objective == objective


def test_the_train_command_takes_the_authors_files_and_names_a_missing_one(tmp_path, capsys):
    from starlib.__main__ import main
    assert main(["train", "--profile", "smoke", "--runs-dir", str(tmp_path), "--fr-file",
                 str(tmp_path / "flow_refinement.pth")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --fr-file") and "flow_refinement.pth does not exist" in err and "\n" not in err
    donor = STARnet(STARConfig(**load_profile("smoke").model.to_dict(), fr_only=True))
    torch.save({f"module.{k[len('flow_net.'):]}": v for k, v in donor.state_dict().items()},
               tmp_path / "flow_refinement.pth")
    assert main(["train", "--profile", "smoke", "--runs-dir", str(tmp_path), "--objective", "STAR",
                 "--fr-file", str(tmp_path / "flow_refinement.pth")]) == 0
    made = sorted(p.name.split("-")[0] for p in (tmp_path / "smoke").iterdir())
    assert made == ["STAR", "STAR", "STAR"]                     # (a), (c), (d): no FR stage, the file instead


def test_a_shipped_run_is_installed_instead_of_trained_with_none_of_its_stages(tmp_path, monkeypatch):
    import shutil
    trained = Workspace.create("smoke", runs_dir=tmp_path / "a", cache_dir=tmp_path / "cache", progress=False)
    first = TR.train_run(trained, R.Training("STAR-T_LR"))
    shipped = tmp_path / "checkpoints" / "smoke" / first.run_dir.name
    shipped.mkdir(parents=True)
    for f in ("model.pt", "config.json", "log.csv", "val.csv"):
        shutil.copyfile(first.run_dir / f, shipped / f)
    monkeypatch.setattr(TR, "SHIPPED_RUNS_DIR", tmp_path / "checkpoints")
    fresh = Workspace.create("smoke", runs_dir=tmp_path / "b", cache_dir=tmp_path / "cache", progress=False)
    again = TR.train_run(fresh, R.Training("STAR-T_LR"))
    assert again.reused and [p.name for p in (tmp_path / "b" / "smoke").iterdir()] == [first.run_dir.name]
    assert [float(r["total"]) for r in again.log] == [float(r["total"]) for r in first.log]
    assert len(again.val) == len(first.val)
    assert all(torch.equal(v, again.model.state_dict()[k]) for k, v in first.model.state_dict().items())
    # an unfinished run folder (an interrupted training) is left to resume, never overwritten
    partial = Workspace.create("smoke", runs_dir=tmp_path / "c", cache_dir=tmp_path / "cache", progress=False)
    (tmp_path / "c" / "smoke" / first.run_dir.name).mkdir(parents=True)
    assert not TR.install_shipped(partial, first.run_dir.name)


def test_every_adaptation_variant_resolves_its_chain_at_cpu_and_keeps_the_profiles_run_names(tmp_path):
    """benchmarks/adaptations.py switches each adaptation off alone: every such network (global residual off in a
    profile whose middle base is the warp included) resolves its stages (a)-(c), and the profile's own stage (a)
    keeps its name."""
    import importlib.util
    from starlib.util.paths import REPO_ROOT
    spec = importlib.util.spec_from_file_location("adaptations", REPO_ROOT / "benchmarks" / "adaptations.py")
    adaptations = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(adaptations)
    ws = Workspace.create("cpu", runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache", progress=False)
    own = P.run_name(ws, R.net_s_stage(ws.profile, ws.profile.model))
    for label, change in adaptations.CORE_VARIANTS.items():
        what = R.Training("STAR", {**change, "flow_refine": False}, stage="core")
        chain = P.stages(ws, what)
        net_s = P.run_configs(ws, chain[0])[0]
        assert net_s.net_s_only and net_s.global_residual == change.get("global_residual", True), label
        if change.get("global_residual", True):
            assert P.run_name(ws, chain[0]) == own, label         # shared with the study's stage (a)
    for change in adaptations.FR_VARIANTS.values():
        P.run_name(ws, R.fr_stage(ws.profile, R.model_config(ws.profile, change)))


def test_the_larger_crop_variant_trains_the_same_lr_pixels():
    import importlib.util
    from starlib.util.paths import REPO_ROOT
    spec = importlib.util.spec_from_file_location("adaptations", REPO_ROOT / "benchmarks" / "adaptations.py")
    adaptations = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(adaptations)
    for patch, steps in ((24, 1000), (8, 20), (32, 3000), (6, 100), (30, 500)):
        larger, fewer = adaptations.crop_variant(patch, steps)
        assert larger > patch and larger % 4 == 0 and fewer < steps
        assert abs(fewer * larger ** 2 - steps * patch ** 2) <= larger ** 2 / 2 + 1   # equal within a step
