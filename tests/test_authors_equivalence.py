"""Ours equals the authors' STARnet code: V2, V3, V4 and V4_REF outputs bit for bit, and the training losses.

The authors' files (``alterzero/STARnet`` at ``cf7a0bc``, MIT, unmodified; see the PROVENANCE.md next to
them) are imported at run time from ``$STARNET_AUTHORS_CODE`` or ``<repo>/../shared/reference/alterzero-STARnet``;
nothing of theirs is copied here, and the module is skipped when neither place has them.

Networks: each of their classes is built at the paper widths (``base_filter=256, feat=64, num_stages=3,
n_resblock=5, scale_factor=4``, what every script of theirs builds), its biases / PReLU slopes / BatchNorm
statistics are randomised (their init leaves them at constants, which would hide a mix-up), its state dict
is converted with ``convert_official_state_dict`` and loaded strictly into ``STARnet(STARConfig.paper(...))``,
and every output is compared with ``torch.equal`` in float64.

Losses: their training scripts cannot be imported (argparse, CUDA, pyflow at import), so the test parses
them with ``ast`` and executes, unmodified, their own ``mse_loss_calc`` / ``feat_loss_calc`` definitions and
the statements of their ``train()`` loop from the network call down to the ``loss = ...`` statement, with
``model`` answering the same random tensors that ``STARLoss`` gets.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import sys
import time
import types
from pathlib import Path
from unittest import mock

import pytest
import torch
from torch import nn

from starlib.models import STARConfig, STARnet, convert_official_state_dict, load_checkpoint
from starlib.paper.objectives import OBJECTIVES  # the names; the terms are read from STARLoss(name).terms
from starlib.train.losses import LossWeights, STARLoss

ENV_VAR = "STARNET_AUTHORS_CODE"
DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "alterzero-STARnet"

#: Their network files, in import order (each imports the previous ones by plain module name).
NETWORK_MODULES = ("base_networks", "dbpns_rbpn", "rbpn", "autoencoder_v4",
                   "fbpn_sr_rbpn_v2", "fbpn_sr_rbpn_v3", "fbpn_sr_rbpn_v4", "fbpn_sr_rbpn_v4_ref")
SCRIPTS = ("main.py", "main_refinement_flow.py", "main_refinement_t_sr_hr.py")


def _find_authors_dir() -> Path | None:
    candidates = ([Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []) + [DEFAULT_DIR]
    for c in candidates:
        if all((c / f"{m}.py").is_file() for m in NETWORK_MODULES) and all((c / s).is_file() for s in SCRIPTS):
            return c
    return None


AUTHORS_DIR = _find_authors_dir()
if AUTHORS_DIR is None:
    pytest.skip(f"the authors' STARnet code was not found: looked in ${ENV_VAR} "
                f"({os.environ.get(ENV_VAR) or 'not set'}) and in {DEFAULT_DIR}; set {ENV_VAR} to a copy of "
                f"alterzero/STARnet (cf7a0bc) to run this comparison", allow_module_level=True)

# Their constructor arguments in all three training scripts (main*.py: base_filter=256, feat=64,
# num_stages=3, n_resblock=5, scale_factor=opt.upscale_factor with default 4).
PAPER_ARGS = dict(base_filter=256, feat=64, num_stages=3, n_resblock=5, scale_factor=4)

#: Their class (module) -> our config. V2 = HR T-SR path only, V3 = LR path only, V4 = both (w/o FR), V4_REF =
#: V4 + FR U-Net (STARnet). Everything else is STARConfig.paper()'s default (their code choices).
VARIANTS = {
    "V2": ("fbpn_sr_rbpn_v2", dict(flow_refine=False, tsr_paths="hr")),
    "V3": ("fbpn_sr_rbpn_v3", dict(flow_refine=False, tsr_paths="lr")),
    "V4": ("fbpn_sr_rbpn_v4", dict(flow_refine=False, tsr_paths="both")),
    "V4_REF": ("fbpn_sr_rbpn_v4_ref", dict(flow_refine=True, tsr_paths="both")),
}

#: Their forward(train=True) returns (result_ht, result_h1, result_h2, result_l[, t_flow_f, t_flow_b]),
#: each result_* the list [stage-1 output, final output] (fbpn_sr_rbpn_v4.py lines 119-184; v4_ref lines
#: 44-54 add the refined flows). result_ht is the in-between HR frame, h1/h2 the HR frames t/t+1 (stage 1:
#: RBPN's own RGB), result_l the in-between LR frame. Our names for the same positions:
THEIR_ORDER = ("sr_mid", "sr_t", "sr_t1", "lr_mid")
THEIR_FLOWS = ("flow_fwd", "flow_bwd")


# --------------------------------------------------------------------------------------------------------
# importing their code without touching it
# --------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def authors():
    """Their network modules, imported from AUTHORS_DIR by their plain names; sys.path and sys.modules are
    restored afterwards (their ``rbpn``, ``base_networks``, ... must not leak into other tests). No stub is
    needed: the network files import only torch, torchvision and each other."""
    saved_path = list(sys.path)
    shadowed = {name: sys.modules.pop(name) for name in NETWORK_MODULES if name in sys.modules}
    before = set(sys.modules)
    sys.path.insert(0, str(AUTHORS_DIR))
    try:
        mods = {name: importlib.import_module(name) for name in NETWORK_MODULES}
    finally:
        sys.path[:] = saved_path
    for name, mod in mods.items():
        assert Path(mod.__file__).resolve().parent == AUTHORS_DIR.resolve(), f"{name} came from {mod.__file__}"
    try:
        yield types.SimpleNamespace(**mods)
    finally:
        for name in set(sys.modules) - before:   # only their files, not e.g. torchvision submodules
            file = getattr(sys.modules[name], "__file__", None)
            if file and Path(file).resolve().parent == AUTHORS_DIR.resolve():
                del sys.modules[name]
        sys.modules.update(shadowed)


def _build_theirs(authors, variant: str) -> nn.Module:
    module = getattr(authors, VARIANTS[variant][0])
    if variant == "V4_REF":
        # V4_REF builds its core as FBPNSR_RBPN_V4(...) with that class's default pretrained=True, which would
        # torch.load weights/pretrained/rbpn_pretrained_F2_4x.pth: turn the default off for this call only.
        init = authors.fbpn_sr_rbpn_v4.Net.__init__
        names = [p for p in inspect.signature(init).parameters.values() if p.default is not inspect.Parameter.empty]
        defaults = tuple(False if p.name == "pretrained" else p.default for p in names)
        with mock.patch.object(init, "__defaults__", defaults):
            return module.Net(**PAPER_ARGS)
    return module.Net(**PAPER_ARGS, pretrained=False)


@torch.no_grad()
def _randomise_constants_(net: nn.Module, g: torch.Generator) -> None:
    """Their init zeroes conv biases, leaves PReLU at 0.25 and BatchNorm at (0, 1, 1, 0): give every one of
    those its own random value so that a swapped or dropped tensor cannot go unnoticed."""
    def rand(t: torch.Tensor, scale: float, shift: float = 0.0) -> torch.Tensor:
        return (shift + scale * torch.randn(t.shape, generator=g, dtype=torch.float64)).to(t.dtype)

    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
            m.bias.copy_(rand(m.bias, 0.01))
        elif isinstance(m, nn.PReLU):
            m.weight.copy_(0.1 + 0.3 * torch.rand(m.weight.shape, generator=g, dtype=torch.float64))
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.copy_(rand(m.weight, 0.1, 1.0))
            m.bias.copy_(rand(m.bias, 0.1))
            m.running_mean.copy_(rand(m.running_mean, 0.1))
            m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g, dtype=torch.float64))


def _pair(authors, variant: str, seed: int = 0) -> tuple[nn.Module, STARnet]:
    """(theirs, ours) in float64, ours holding their (randomised) weights through convert_official_state_dict."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        theirs = _build_theirs(authors, variant).double()
        _randomise_constants_(theirs, torch.Generator().manual_seed(seed + 1))
        ours = STARnet(STARConfig.paper(**VARIANTS[variant][1])).double()
    ours.load_state_dict(convert_official_state_dict(theirs.state_dict()), strict=True)
    return theirs, ours


def _inputs(batch: int, h: int, w: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Two ImageNet-normalised-like frames and two flows in their normalised units (|flow| <~ 0.2)."""
    g = torch.Generator().manual_seed(seed)
    frames = [torch.randn(batch, 3, h, w, generator=g, dtype=torch.float64) for _ in range(2)]
    flows = [0.05 * torch.randn(batch, 2, h, w, generator=g, dtype=torch.float64) for _ in range(2)]
    return (*frames, *flows)


def _as_ours(theirs_out: tuple, variant: str) -> dict[str, torch.Tensor]:
    """Their forward(train=True) tuple under our output names."""
    out = {}
    for name, (aux, final) in zip(THEIR_ORDER, theirs_out[:4]):
        out[name], out[f"{name}_aux"] = final, aux
    if variant == "V4_REF":
        out.update(zip(THEIR_FLOWS, theirs_out[4:]))
    return out


def _assert_outputs_equal(theirs_out: tuple, ours_out: dict[str, torch.Tensor], variant: str,
                          x: tuple[torch.Tensor, ...]) -> None:
    expected = _as_ours(theirs_out, variant)
    assert len(theirs_out) == (6 if variant == "V4_REF" else 4)
    if variant != "V4_REF":  # no FR: theirs has no flow outputs, ours passes the raw flows through
        expected.update(zip(THEIR_FLOWS, x[2:]))
    assert set(ours_out) == set(expected), f"ours returns {sorted(ours_out)}, theirs maps to {sorted(expected)}"
    bad = {}
    for name, ref in expected.items():
        got = ours_out[name]
        if got.shape != ref.shape or got.dtype != ref.dtype or not torch.equal(got, ref):
            bad[name] = (tuple(got.shape), tuple(ref.shape),
                         (got - ref).abs().max().item() if got.shape == ref.shape else float("nan"))
    assert not bad, f"{variant}: outputs differ from the authors' (ours shape, theirs shape, max |diff|): {bad}"


# --------------------------------------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_their_state_dict_maps_one_to_one_onto_ours(authors, variant):
    """Every tensor of theirs has exactly one place in ours, with its shape (float32, no forward)."""
    with torch.random.fork_rng(devices=[]):
        theirs = _build_theirs(authors, variant)
        ours = STARnet(STARConfig.paper(**VARIANTS[variant][1]))
    converted = convert_official_state_dict(theirs.state_dict())
    assert len(converted) == len(theirs.state_dict())          # no two keys of theirs collapse into one
    own = ours.state_dict()
    assert sorted(converted) == sorted(own)
    assert {k: tuple(v.shape) for k, v in converted.items()} == {k: tuple(v.shape) for k, v in own.items()}
    assert sum(p.numel() for p in theirs.parameters()) == sum(p.numel() for p in ours.parameters())


@pytest.mark.slow
@pytest.mark.parametrize("variant,size", [("V2", 16), ("V3", 16), ("V4", 16),
                                          ("V4_REF", 32)])  # the FR U-Net pools 5 times: >= 32 px
def test_every_output_equals_the_authors_in_eval_mode(authors, variant, size):
    theirs, ours = _pair(authors, variant)
    theirs.eval(), ours.eval()
    x = _inputs(1, size, size)
    with torch.no_grad():
        theirs_out = theirs(*x, train=True)   # train=True: the stage-1 outputs too (not the module's mode)
        ours_out = ours(*x)
    _assert_outputs_equal(theirs_out, ours_out, variant, x)


@pytest.mark.slow
def test_v4_ref_equals_the_authors_in_train_mode(authors):
    """Train mode matters only for the FR U-Net's BatchNorm (the core has none): batch statistics of a batch
    of 2 (batch 1 at 32 px leaves one value per channel at the U-Net's bottom, which BatchNorm refuses), and
    the running statistics both sides update."""
    theirs, ours = _pair(authors, "V4_REF", seed=1)
    theirs.train(), ours.train()
    x = _inputs(2, 32, 32, seed=1)
    with torch.no_grad():
        theirs_out = theirs(*x)
        ours_out = ours(*x)
    _assert_outputs_equal(theirs_out, ours_out, "V4_REF", x)
    own = ours.state_dict()
    changed = [k for k, v in convert_official_state_dict(theirs.state_dict()).items() if not torch.equal(v, own[k])]
    assert not changed, f"BatchNorm running statistics differ after one train-mode forward: {changed[:5]}"


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["V2", "V4_REF"])   # ~30 s each; tests/test_import_official.py has all four
def test_import_official_reads_their_saved_networks(authors, variant, tmp_path):
    """``python -m starlib import-official`` on their network saved the way their scripts save it
    (``torch.save(nn.DataParallel(model).state_dict())``: every key ``module.``-prefixed): the variant is
    recognised from the keys and every tensor lands in its place (random constants, so no mix-up hides)."""
    from starlib.models.official import import_official
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        theirs = _build_theirs(authors, variant)
        _randomise_constants_(theirs, torch.Generator().manual_seed(4))
    src = tmp_path / f"FBPNSR_RBPN_{variant}_Lf_STAR.pth"
    torch.save(nn.DataParallel(theirs).state_dict(), src)
    del theirs
    r = import_official(src, tmp_path / "out.pt")
    assert r.variant == variant and r.config == STARConfig.paper(**VARIANTS[variant][1])
    saved = torch.load(src, weights_only=True)
    model, extra = load_checkpoint(tmp_path / "out.pt", expected=r.config)
    mine = model.state_dict()
    assert all(torch.equal(v, mine[k]) for k, v in convert_official_state_dict(saved).items())
    assert extra["authors_variant"] == variant and extra["source_file"] == src.name


# --------------------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------------------
def _their_loss_code(script: str) -> tuple[types.CodeType, str]:
    """Their ``mse_loss_calc`` and ``feat_loss_calc`` definitions plus the statements of their ``train()``
    loop body from the network call down to the last statement that assigns ``loss``, compiled as written."""
    path = AUTHORS_DIR / script
    tree = ast.parse(path.read_text(), filename=str(path))
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in ("mse_loss_calc", "feat_loss_calc")]
    assert sorted(d.name for d in defs) == ["feat_loss_calc", "mse_loss_calc"], script
    train = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "train")
    loop = next(n for n in train.body if isinstance(n, ast.For))
    body = loop.body

    def calls_model(stmt: ast.stmt) -> bool:
        return (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "model")

    def assigns_loss(stmt: ast.stmt) -> bool:
        return any(isinstance(n, ast.Name) and n.id == "loss" and isinstance(n.ctx, ast.Store) for n in ast.walk(stmt))

    first = next(i for i, s in enumerate(body) if calls_model(s))
    last = max(i for i, s in enumerate(body) if assigns_loss(s))
    stmts = body[first:last + 1]
    where = f"{script} lines {defs[0].lineno}-{defs[-1].end_lineno} and {stmts[0].lineno}-{stmts[-1].end_lineno}"
    module = ast.Module(body=defs + stmts, type_ignores=[])
    return compile(module, str(path), "exec"), where


#: The names their train() loop gives the network inputs and targets (read from each script's ``if cuda:``
#: block), and their ``model(...)`` arguments' names. Targets: hr frames t, t+n, t+1 and the LR t+n.
SCRIPT_NAMES = {
    "main.py": dict(inputs=("t_im1", "t_im2", "t_flow_f", "t_flow_b"),
                    hr=("t_target1", "t_target", "t_target2"), lr="t_target_l", gt_flows=None),
    "main_refinement_flow.py": dict(inputs=("t_lr1", "t_lr2", "t_flow_f", "t_flow_b"),
                                    hr=("t_hr1", "t_hr", "t_hr2"), lr="t_lr", gt_flows=("gt_flow_f", "gt_flow_b")),
    # STAR-T_HR: t_hr1 / t_hr2 are the network's inputs; the LR-branch output is compared with t_hr.
    "main_refinement_t_sr_hr.py": dict(inputs=("t_hr1", "t_hr2", "t_flow_f", "t_flow_b"),
                                       hr=("t_hr1", "t_hr", "t_hr2"), lr=None, gt_flows=("gt_flow_f", "gt_flow_b")),
}

#: (our objective, their script, their --train_obj) for every objective their scripts implement.
LOSS_CASES = [
    ("STAR", "main.py", None),                        # V4 w/o FR: L1 + 0.1 VGG, no flow term
    ("STAR", "main_refinement_flow.py", "STAR"),
    ("STAR-ST", "main_refinement_flow.py", "STAR-ST"),
    ("STAR-S", "main_refinement_flow.py", "STAR-S"),
    ("STAR-T_LR", "main_refinement_flow.py", "STAR-T-LR"),
    ("STAR-T_HR", "main_refinement_t_sr_hr.py", None),
]

#: Their per-output intermediate names (l_mse_ht = 0.4 L1(aux) + 1.0 L1(final) of the in-between frame, ...).
THEIR_PART_NAMES = {"sr_mid": "ht", "sr_t": "h1", "sr_t1": "h2", "lr_mid": "lr"}

HR, LR = 64, 16  # VGG19 through relu5_4 pools 4 times, and the LR target goes through it too: >= 16 px


@pytest.fixture(scope="module")
def vgg():
    """One randomly initialised VGG19 (our VGGFeatures) shared by both sides: the perceptual term is what is
    compared, not ImageNet features."""
    from starlib.train.losses import VGGFeatures

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return VGGFeatures(allow_random=True).double()


def test_every_objective_is_compared_with_an_authors_script():
    assert {obj for obj, _, _ in LOSS_CASES} == set(OBJECTIVES), (
        "an objective of starlib.paper.objectives.OBJECTIVES has no authors' counterpart in LOSS_CASES: add the script "
        "and --train_obj that trains it, or state here that it is ours only")


@pytest.mark.parametrize("perceptual", [0.1, 0.0], ids=["Lf", "Lr"])
@pytest.mark.parametrize("objective,script,train_obj", LOSS_CASES,
                         ids=[f"{o}-{s.removesuffix('.py')}" for o, s, _ in LOSS_CASES])
def test_loss_equals_the_authors_training_loss(objective, script, train_obj, perceptual, vgg):
    """Their scripts only train L_f (0.1 x VGG term). L_r (perceptual weight 0, the "Lr" checkpoints) is their
    statement with a feature extractor that maps every image to 0, so that their 0.1 * l_feat vanishes."""
    names = SCRIPT_NAMES[script]
    t_hr = script == "main_refinement_t_sr_hr.py"
    g = torch.Generator().manual_seed(sum(map(ord, objective + script)))

    def rnd(*shape: int, scale: float = 1.0) -> torch.Tensor:
        return scale * torch.randn(*shape, generator=g, dtype=torch.float64)

    # A training batch as ours reads it: hr (B, 3, 3, H, W) frames t, t+n, t+1; lr (B, 3, 3, h, w).
    b = 2
    batch = {"hr": rnd(b, 3, 3, HR, HR), "lr": rnd(b, 3, 3, LR, LR)}
    with_flow = names["gt_flows"] is not None
    in_size = HR if t_hr else LR
    gt = (rnd(b, 2, in_size, in_size, scale=0.05), rnd(b, 2, in_size, in_size, scale=0.05))
    batch["flow_fwd_gt"], batch["flow_bwd_gt"] = gt   # present even for main.py: its weight 0 must ignore them
    # Network outputs (ours' names), related to the targets so that the losses are of a realistic size.
    out_hr = HR * 4 if t_hr else HR
    mid_size = HR if t_hr else LR
    out = {}
    for name, target in (("sr_t", batch["hr"][:, 0]), ("sr_mid", batch["hr"][:, 1]), ("sr_t1", batch["hr"][:, 2])):
        if t_hr:  # STAR-T_HR: the S-SR outputs live at 4x the (HR) input and are not trained
            out[name], out[f"{name}_aux"] = rnd(b, 3, out_hr, out_hr), rnd(b, 3, out_hr, out_hr)
        else:
            out[name], out[f"{name}_aux"] = target + rnd(*target.shape, scale=0.3), target + rnd(*target.shape)
    mid_target = batch["hr"][:, 1] if t_hr else batch["lr"][:, 1]
    out["lr_mid"] = mid_target + rnd(b, 3, mid_size, mid_size, scale=0.3)
    out["lr_mid_aux"] = mid_target + rnd(b, 3, mid_size, mid_size)
    out["flow_fwd"] = gt[0] + rnd(b, 2, in_size, in_size, scale=0.01)
    out["flow_bwd"] = gt[1] + rnd(b, 2, in_size, in_size, scale=0.01)

    # Ours, weighted as starlib.train.trainer does it (flow weight 0 for a network without FR).
    loss_fn = STARLoss(objective, LossWeights(perceptual=perceptual, flow=0.1 if with_flow else 0.0),
                       vgg if perceptual else None)
    targets = {"lr_mid": batch["hr"][:, 1]} if t_hr else None
    ours, parts = loss_fn(out, batch, targets)

    # Theirs: their statements as written, their network call answered with the same tensors.
    code, where = _their_loss_code(script)
    theirs_tuple = tuple([out[f"{n}_aux"], out[n]] for n in THEIR_ORDER)
    if script != "main.py":
        theirs_tuple += (out["flow_fwd"], out["flow_bwd"])
    calls = []

    def model(*args):
        calls.append(args)
        return theirs_tuple

    ns = {
        "model": model, "opt": types.SimpleNamespace(train_obj=train_obj), "time": time,
        "criterion_l1": nn.L1Loss(), "criterion": nn.MSELoss(),
        "feature_extractor": vgg if perceptual else (lambda x: x.new_zeros(())),
    }
    ns.update(zip(names["inputs"], (rnd(b, 3, in_size, in_size), rnd(b, 3, in_size, in_size), *gt)))
    ns.update(zip(names["hr"], batch["hr"].unbind(1)))
    if names["lr"]:
        ns[names["lr"]] = batch["lr"][:, 1]
    if with_flow:
        ns.update(zip(names["gt_flows"], gt))
    exec(code, ns)  # noqa: S102 - the authors' own statements, parsed from their unmodified file
    assert len(calls) == 1, where
    theirs = ns["loss"]

    assert theirs.dtype == ours.dtype == torch.float64
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-12), (
        f"{objective} ({where}, train_obj={train_obj}, perceptual={perceptual}): ours {ours.item()!r} vs theirs "
        f"{theirs.item()!r}, |diff| {abs(ours.item() - theirs.item()):.3e}")
    # The named parts too, where their script keeps them under a name (it does not for STAR-T-LR's l_mse).
    for output, _ in loss_fn.terms:
        key = THEIR_PART_NAMES[output]
        if f"l_mse_{key}" in ns:
            assert abs(parts[f"l1_{output}"] - float(ns[f"l_mse_{key}"])) <= 1e-12, (output, where)
        if perceptual and f"l_feat_{key}" in ns:
            assert abs(parts[f"vgg_{output}"] - float(ns[f"l_feat_{key}"])) <= 1e-12, (output, where)
    if with_flow:
        assert abs(parts["flow"] - float(ns["l_flow"])) <= 1e-12, where
    else:
        assert "flow" not in parts and "l_flow" not in ns
