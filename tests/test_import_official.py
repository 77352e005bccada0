"""``python -m starlib import-official``: the authors' released STARnet files (their key names) as starlib
checkpoints. Files are built here to the documented key map (docs: starnet-spec.md section 3, "Checkpoint key
layout"); tests/test_authors_equivalence.py does the same from the authors' own networks when their code is
present."""

from __future__ import annotations

import hashlib

import pytest
import torch

from helpers import tiny_config
from starlib.__main__ import main
from starlib.models import STARConfig, STARnet, load_checkpoint
from starlib.models.checkpoint import meta_model
from starlib.models.official import VARIANTS, WEIGHTS_LABEL, import_official, infer_variant, objective_from_name


def authors_name(key: str, variant: str) -> str:
    """The key the authors' DataParallel checkpoint of ``variant`` gives our ``key``: ``module.`` always; the
    REF wrapper puts the core under ``model.`` beside ``flow_net``; the core names Net_S ``RBPN``."""
    if key.startswith("flow_net."):
        return "module." + key
    core = "RBPN." + key[len("net_s."):] if key.startswith("net_s.") else key
    return "module." + ("model." + core if variant == "V4_REF" else core)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_round_trips_with_its_config_and_source_hash(tmp_path, variant, seeded):
    cfg = tiny_config(**VARIANTS[variant])
    theirs = STARnet(cfg)
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(torch.randn_like(p))
    src = tmp_path / f"FBPNSR_RBPN_{variant}_Lr_STAR_ST.pth"
    torch.save({authors_name(k, variant): v for k, v in theirs.state_dict().items()}, src)
    r = import_official(src, tmp_path / "out.pt", base=tiny_config())
    assert r.variant == variant and r.config == cfg
    assert r.objective == ("STAR-ST" if variant == "V4_REF" else None)
    model, extra = load_checkpoint(tmp_path / "out.pt", expected=cfg)
    mine = model.state_dict()
    assert all(torch.equal(v, mine[k]) for k, v in theirs.state_dict().items())
    assert extra["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest() == r.source_sha256
    assert extra["weights"] == WEIGHTS_LABEL and extra["source_file"] == src.name


def test_variants_are_told_apart_at_the_paper_widths():
    for variant, fields in VARIANTS.items():
        keys = {k: None for k in meta_model(STARConfig.paper(**fields)).state_dict()}
        assert infer_variant(keys, "x.pth") == variant


def test_objective_from_the_authors_file_names():
    assert objective_from_name("FBPNSR_RBPN_V4_REF_Lr_STAR_ST.pth", "V4_REF") == "STAR-ST"
    assert objective_from_name("FBPNSR_RBPN_V4_REF_Lf_STAR_T_HR.pth", "V4_REF") == "STAR-T_HR"
    assert objective_from_name("FBPNSR_RBPN_V4_REF_Lf_STAR.pth", "V4_REF") == "STAR"
    assert objective_from_name("my_weights.pth", "V4_REF") is None
    assert objective_from_name("FBPNSR_RBPN_V4_Lf_STAR.pth", "V4") is None       # w/o FR: not an objective's net


def test_cli_errors_are_one_line_and_keep_an_existing_output(tmp_path, capsys, seeded):
    assert main(["import-official", str(tmp_path / "absent.pth"), "-o", str(tmp_path / "o.pt")]) == 2
    assert "absent.pth does not exist" in capsys.readouterr().err
    other = tmp_path / "other.pth"
    torch.save({"module.conv.weight": torch.ones(1)}, other)
    assert main(["import-official", str(other), "-o", str(tmp_path / "o.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not one of the authors' STARnet files" in err and err.count("\n") == 1
    (tmp_path / "o.pt").write_bytes(b"keep")
    assert main(["import-official", str(other), "-o", str(tmp_path / "o.pt")]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err and (tmp_path / "o.pt").read_bytes() == b"keep"
