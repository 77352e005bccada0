"""Config validation, input validation and checkpoints (round trip, mismatches, corrupt files)."""

import pytest
import torch

from helpers import random_pair, tiny_config
from starlib.models import (CheckpointError, STARConfig, STARnet, convert_official_state_dict, load_checkpoint,
                            read_checkpoint, save_checkpoint)
from starlib.models.checkpoint import FORMAT


@pytest.mark.parametrize("field,value,match", [
    ("scale", 3, "scale=3"),
    ("net_s", "edvr", "net_s='edvr'"),
    ("tsr_paths", "hr+lr", "tsr_paths"),
    ("fr_correction", "relu", "fr_correction"),
    ("feat", 0, "feat must be a positive int"),
    ("n_resblock", -1, "n_resblock must be a non-negative int"),
])
def test_bad_config_values_are_named(field, value, match):
    with pytest.raises(ValueError, match=match):
        STARConfig(**{field: value})


def test_inconsistent_switches_are_refused():
    with pytest.raises(ValueError, match="use_motion=True needs use_flow=True"):
        STARConfig(use_flow=False, flow_refine=False)
    with pytest.raises(ValueError, match="flow_refine=True needs use_flow=True"):
        STARConfig(use_flow=False, use_motion=False)


def test_config_round_trips_through_a_dict_and_rejects_unknown_fields():
    cfg = tiny_config(tsr_paths="lr")
    assert STARConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.short_hash() == STARConfig.from_dict(cfg.to_dict()).short_hash()
    assert cfg.short_hash() != cfg.replace(tsr_paths="hr").short_hash()
    with pytest.raises(ValueError, match="unknown STARConfig fields \\['widht'\\]"):
        STARConfig.from_dict({**cfg.to_dict(), "widht": 3})


def test_bad_inputs_raise_clear_errors():
    model = STARnet(tiny_config())
    lr_t, lr_t1, ff, fb = random_pair(16, 16)
    with pytest.raises(ValueError, match="lr_t must be \\(B, 3, h, w\\)"):
        model(lr_t[:, :1], lr_t1, ff, fb)
    with pytest.raises(ValueError, match="same shape"):
        model(lr_t, lr_t1[..., :8], ff, fb)
    with pytest.raises(ValueError, match="flow_bwd is None"):
        model(lr_t, lr_t1, ff, None)
    with pytest.raises(ValueError, match="flow_fwd must be"):
        model(lr_t, lr_t1, ff[..., :8], fb)
    small = random_pair(3, 3)
    with pytest.raises(ValueError, match="too small for the flow-refinement U-Net"):
        model(*small)
    with pytest.raises(ValueError, match="use_flow=False; call it without flows"):
        STARnet(tiny_config(use_flow=False, use_motion=False, flow_refine=False))(lr_t, lr_t1, ff, fb)
    with pytest.raises(ValueError, match="divisible by 4"):
        STARnet(tiny_config(scale=2, flow_refine=False))(*random_pair(9, 10))


def test_checkpoint_round_trip_is_exact(tmp_path, seeded):
    cfg = tiny_config(net_s="dbpn_mi", tsr_paths="hr")
    model = STARnet(cfg).eval()
    inputs = random_pair(16, 16)
    path = save_checkpoint(model, tmp_path / "run" / "model.pt", extra={"step": 7})
    assert not list(path.parent.glob("*.tmp")), "atomic write left a temporary file"
    loaded, extra = load_checkpoint(path, expected=cfg)
    assert extra == {"step": 7}
    assert loaded.cfg == cfg
    a, b = model(*inputs), loaded.eval()(*inputs)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_loads_with_weights_only(tmp_path):
    path = save_checkpoint(STARnet(tiny_config()), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == FORMAT and isinstance(payload["config"], dict)


def test_mismatched_config_names_both_sides(tmp_path):
    path = save_checkpoint(STARnet(tiny_config(tsr_paths="hr")), tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="tsr_paths: checkpoint='hr', expected='both'") as err:
        load_checkpoint(path, expected=tiny_config())
    assert str(path) in str(err.value)


def test_mismatched_weights_name_the_keys(tmp_path):
    model = STARnet(tiny_config())
    payload_path = save_checkpoint(model, tmp_path / "m.pt")
    payload = read_checkpoint(payload_path)
    del payload["state_dict"]["reconstruction_h.conv.weight"]
    payload["state_dict"]["extra_head.weight"] = torch.zeros(1)
    payload["state_dict"]["reconstruction_l.conv.bias"] = torch.zeros(5)
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "bad.pt")
    msg = str(err.value)
    assert "missing" in msg and "reconstruction_h.conv.weight" in msg
    assert "unexpected" in msg and "extra_head.weight" in msg
    assert "shape mismatch" in msg and "reconstruction_l.conv.bias (5,)" in msg


def test_missing_and_corrupt_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    good = save_checkpoint(STARnet(tiny_config()), tmp_path / "m.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated.pt.*corrupt"):
        load_checkpoint(truncated)
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a starlib STARnet checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_official_key_names_convert_onto_ours(seeded):
    model = STARnet(tiny_config())
    ours = model.state_dict()

    def official_name(key: str) -> str:  # how the authors' DataParallel REF checkpoint names it
        if key.startswith("flow_net."):
            return "module." + key
        if key.startswith("net_s."):
            return "module.model.RBPN." + key[len("net_s."):]
        return "module.model." + key

    official = {official_name(k): v for k, v in ours.items()}
    converted = convert_official_state_dict(official)
    assert set(converted) == set(ours)
    STARnet(tiny_config()).load_state_dict(converted, strict=True)
