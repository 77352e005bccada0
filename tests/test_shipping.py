"""Shipping finished runs in git (``python -m starlib ship``): what is copied, what is refused, the model card,
the demo copies, and that a fresh workspace installs a shipped run instead of training it."""

import json

import pytest

from starlib.__main__ import main
from starlib.models import STARnet, save_checkpoint
from starlib.study.trainings import shipping
from starlib.study.trainings.training_runs import install_shipped
from starlib.study.setup.workspace import Workspace

from helpers import tiny_config


def _fake_run(run_dir, objective: str, init_from: str = "") -> None:
    """A finished run folder: a real (tiny) checkpoint and the side files a training writes."""
    run_dir.mkdir(parents=True)
    save_checkpoint(STARnet(tiny_config()), run_dir / "model.pt",
                    extra={"steps": 7, "objective": objective, "data": "test", "train_seconds": 12.5})
    train = {"objective": objective, "steps": 7, **({"init_from": init_from} if init_from else {})}
    (run_dir / "config.json").write_text(json.dumps({"model": {}, "train": train, "git_commit": "abc123"}))
    (run_dir / "log.csv").write_text("step,total\n1,0.5\n")
    (run_dir / "val.csv").write_text("step,output,psnr,baseline_psnr,n\n0,sr_t,20,21,4\n7,sr_t,23.5,21,4\n")
    (run_dir / "state.pt").write_bytes(b"optimizer state: never shipped")


@pytest.fixture
def finished(tmp_path):
    ws = Workspace.create("smoke", runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache", device="cpu")
    wanted = shipping.shipped_trainings(ws)
    (ws.cache / "scores").mkdir(parents=True)
    for _, name, what in wanted:
        _fake_run(ws.runs / name, what.objective, init_from="STAR-x" if what.objective != "STAR" else "")
        (ws.cache / "scores" / f"{name}-lr-tile0.csv").write_text(SCORE_ROW.format(item="x", psnr=25.0))
    return ws, wanted


SCORE_ROW = "dataset,item,output,psnr,niqe_scored\nmiddlebury,{item},sr_t,{psnr},0.0\n"


def test_the_shipped_runs_are_those_notebook_13_compares_each_once(finished):
    ws, wanted = finished
    names = [n for _, n, _ in wanted]
    labels = [label for label, _, _ in wanted]
    assert len(set(names)) == len(names)
    assert {"RBPN alone", "DBPN alone", "DBPN-MI alone", "STAR", "STAR-ST", "STAR-S", "STAR-T_LR",
            "STAR-T_HR"} <= set(labels)


def test_ship_copies_the_run_files_removes_stale_runs_and_writes_the_card(finished, tmp_path):
    ws, wanted = finished
    dest = tmp_path / "checkpoints"
    stale = dest / "smoke" / "STAR-0000000000"
    stale.mkdir(parents=True)
    (stale / "model.pt").write_bytes(b"old")
    shipped = shipping.ship(ws, dest=dest)
    assert [r.name for r in shipped] == [n for _, n, _ in wanted]
    for _, name, _ in wanted:
        target = dest / "smoke" / name
        assert (target / "model.pt").read_bytes() == (ws.runs / name / "model.pt").read_bytes()
        assert sorted(p.name for p in target.iterdir()) == ["config.json", "log.csv", "model.pt", "val.csv"]
    assert not stale.exists()
    card = (dest / "smoke" / shipping.MODEL_CARD).read_text()
    for run in shipped:
        assert run.name in card and run.sha256 in card
        assert run.sha256 == shipping.sha256(ws.runs / run.name / "model.pt")
        assert run.steps == 7 and run.train_seconds == 12.5 and run.git_commit == "abc123"
        assert run.final_validation == "sr_t +2.50 dB"     # the last validation step, over the floor
    assert f"{sum(r.size for r in shipped):,} bytes" in card


def test_ship_refuses_when_a_run_is_not_finished_and_copies_nothing(finished, tmp_path):
    ws, wanted = finished
    (ws.runs / wanted[-1][1] / "model.pt").unlink()
    with pytest.raises(FileNotFoundError, match=rf"{wanted[-1][1]} not finished.*train --all --profile smoke"):
        shipping.ship(ws, dest=tmp_path / "checkpoints")
    assert not (tmp_path / "checkpoints").exists()


def test_demo_checkpoints_are_byte_copies_of_the_shipped_runs(finished, tmp_path, monkeypatch):
    ws, wanted = finished
    monkeypatch.setattr(shipping, "DEMO_PROFILE", "smoke")
    demo = {"STAR-ST": tmp_path / "demo" / "st.pt", "STAR-T_HR": tmp_path / "demo" / "thr.pt"}
    shipping.ship(ws, dest=tmp_path / "checkpoints", demo=demo)
    names = {label: name for label, name, _ in wanted}
    for label, path in demo.items():
        assert path.read_bytes() == (ws.runs / names[label] / "model.pt").read_bytes()
    assert "st.pt" in (tmp_path / "checkpoints" / "smoke" / shipping.MODEL_CARD).read_text()
    demo_card = (tmp_path / "demo" / shipping.MODEL_CARD).read_text()
    assert "| `st.pt` | STAR-ST |" in demo_card and names["STAR-T_HR"] in demo_card


def test_a_fresh_workspace_installs_a_shipped_run(finished, tmp_path):
    ws, wanted = finished
    dest = tmp_path / "checkpoints"
    shipping.ship(ws, dest=dest)
    fresh = Workspace.create("smoke", runs_dir=tmp_path / "fresh", cache_dir=tmp_path / "cache", device="cpu")
    name = wanted[0][1]
    assert install_shipped(fresh, name, shipped_dir=dest)
    assert (fresh.runs / name / "model.pt").read_bytes() == (ws.runs / name / "model.pt").read_bytes()


def test_ship_cli_names_the_missing_run_in_one_line(tmp_path, capsys):
    assert main(["ship", "--profile", "smoke", "--runs-dir", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot ship the smoke runs:") and "train --all" in err


def test_an_interrupted_swap_is_recovered_by_the_next_ship(finished, tmp_path):
    ws, wanted = finished
    dest = tmp_path / "checkpoints"
    shipping.ship(ws, dest=dest)
    name = wanted[0][1]
    target = dest / "smoke" / name
    old = target.with_name(f".{name}.old")
    target.rename(old)                                            # killed between the two renames
    (target.parent / f".{name}.half").mkdir()                     # and a half-built copy beside it
    shipping.ship(ws, dest=dest)
    assert (target / "model.pt").read_bytes() == (ws.runs / name / "model.pt").read_bytes()
    assert not old.exists() and not (target.parent / f".{name}.half").exists()


def test_the_card_counts_parameters_as_the_tables_do(finished, tmp_path):
    from starlib.models.star import count_parameters

    ws, wanted = finished
    shipped = shipping.ship(ws, dest=tmp_path / "checkpoints")
    assert all(r.parameters == count_parameters(STARnet(tiny_config())) for r in shipped)


def test_ship_carries_the_scores_notebook_13_reads_and_a_fresh_cache_is_seeded_from_them(finished, tmp_path):
    """The per-item scores of the shipped runs (and of the methods without a run) ship beside them with a
    manifest of the weights they score; a fresh workspace's cache copies a missing key from there instead of
    scoring again, but only while its run has the shipped weights."""
    import pandas as pd
    from starlib.data import middlebury_other
    from starlib.study.setup.shipped_scores import MANIFEST, read_manifest
    ws, wanted = finished
    scores = ws.cache / "scores"
    name = wanted[0][1]
    item = middlebury_other()[0].name
    keep = [f"{name}-lr-tile0.csv", f"DBPN-_flowinterp.-{name}-dis_medium.csv", "bicubic_average-s4.csv"]
    for i, file in enumerate(keep + ["STAR-abcdef0123-lr-tile0.csv"]):      # the last: a run not shipped
        (scores / file).write_text(SCORE_ROW.format(item=item, psnr=30 + i))
    dest = tmp_path / "checkpoints"
    shipping.ship(ws, dest=dest)
    shipped = dest / "smoke" / "scores"
    expected = set(keep) | {f"{n}-lr-tile0.csv" for _, n, _ in wanted}
    assert {p.name for p in shipped.glob("*.csv")} == expected
    manifest = read_manifest(shipped)
    assert set(manifest) == expected and manifest["bicubic_average-s4.csv"] == {}
    assert manifest[keep[1]] == {name: shipping.sha256(ws.runs / name / "model.pt")}
    assert f"{len(expected)} files" in (dest / "smoke" / shipping.MODEL_CARD).read_text()

    def never(*args, **kwargs):
        raise AssertionError("a shipped key must not be scored again")

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr("starlib.study.setup.workspace.SHIPPED_RUNS_DIR", dest)
    try:
        fresh = Workspace.create("smoke", runs_dir=tmp_path / "fresh", cache_dir=tmp_path / "fresh-cache")
        assert install_shipped(fresh, name, shipped_dir=dest)
        got = fresh.scores.scores(never, f"{name}-lr-tile0", middlebury_other()[:1], "middlebury", ["sr_t"])
        assert got["psnr"].tolist() == [30.0]
        assert pd.read_csv(fresh.scores.path(f"{name}-lr-tile0"))["psnr"].tolist() == [30.0]
        # the same run name with other weights (retrained elsewhere) is scored anew, not seeded
        other = Workspace.create("smoke", runs_dir=tmp_path / "other", cache_dir=tmp_path / "other-cache")
        _fake_run(other.runs / name, "STAR")
        save_checkpoint(STARnet(tiny_config(base_filter=12)), other.runs / name / "model.pt")
        with pytest.raises(AssertionError, match="must not be scored"):
            other.scores.scores(never, f"{name}-lr-tile0", middlebury_other()[:1], "middlebury", ["sr_t"])
        with pytest.raises(AssertionError, match="must not be scored"):           # an unshipped key is computed
            fresh.scores.scores(never, "STAR-abcdef0123-lr-tile0", middlebury_other()[:1], "middlebury", ["sr_t"])
        monkeypatch.setenv("STARLIB_SHIPPED_SCORES", "0")
        off = Workspace.create("smoke", runs_dir=tmp_path / "fresh", cache_dir=tmp_path / "off-cache")
        with pytest.raises(AssertionError, match="must not be scored"):
            off.scores.scores(never, f"{name}-lr-tile0", middlebury_other()[:1], "middlebury", ["sr_t"])
    finally:
        monkeypatch.undo()
    assert (shipped / MANIFEST).is_file()


def test_ship_from_a_cache_without_the_runs_scores_is_refused_and_changes_nothing(finished, tmp_path):
    ws, wanted = finished
    dest = tmp_path / "checkpoints"
    shipping.ship(ws, dest=dest)
    before = sorted(p.name for p in (dest / "smoke" / "scores").iterdir())
    (ws.cache / "scores" / f"{wanted[-1][1]}-lr-tile0.csv").unlink()
    with pytest.raises(FileNotFoundError, match=rf"no scores of {wanted[-1][1]}.*--cache-dir"):
        shipping.ship(ws, dest=dest)
    assert sorted(p.name for p in (dest / "smoke" / "scores").iterdir()) == before
