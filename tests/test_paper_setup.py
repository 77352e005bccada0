"""The ``paper`` profile runs each table with the setup its caption states (issue 17): Net_S and loss per table,
both readings of the schedule as data, the L_f path end to end with a VGG19 weights file, the Vimeo90K test
list."""

import dataclasses
import tomllib

import pytest
import torch

from starlib.study.trainings import recipes as R
from starlib.study.trainings import plans as P
from starlib.study.setup.profile import PROFILE_DIR, load_profile, parse_profile
from starlib.study.setup.workspace import Workspace
from starlib.util.config import ConfigError


def _data(name: str) -> dict:
    return tomllib.loads((PROFILE_DIR / f"{name}.toml").read_text())


@pytest.fixture
def vgg_file(tmp_path, monkeypatch):
    """A randomly initialised VGG19's convolutional part saved as torchvision's state dict keys
    (``features.*``), found through ``$STARLIB_VGG19`` as the ImageNet file would be."""
    from torchvision.models import vgg19
    torch.manual_seed(0)
    features = vgg19(weights=None).features
    path = tmp_path / "vgg19-features.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    monkeypatch.setenv("STARLIB_VGG19", str(path))
    return path


def test_the_paper_profile_reads_the_paper_schedule_and_the_code_reading_is_one_switch_away():
    paper = load_profile("paper")
    assert paper.schedule == "paper"
    star, st, thr = (paper.train.config(o) for o in ("STAR", "STAR-ST", "STAR-T_HR"))
    assert star.steps == 359191 and star.lr_milestones == pytest.approx((30 / 70, 60 / 70))   # 70 epochs, /10 per 30
    assert st.steps == thr.steps == 102626 and st.lr_milestones == (0.5,)                     # 20 epochs, /10 per 10
    data = _data("paper") | {"schedule": "code"}
    code = parse_profile("paper", data)
    star, thr = code.train.config("STAR"), code.train.config("STAR-T_HR")
    assert star.steps == 307878 and star.lr_milestones == pytest.approx((19 / 60, 39 / 60, 59 / 60))
    assert thr.lr_milestones == pytest.approx((9 / 20, 19 / 20)) and thr.batch_size == 4
    assert "schedule code" in P.setup(Workspace.create(_embedded(code), progress=False), R.Training("STAR"))


def test_a_schedule_and_train_setting_the_same_key_or_an_unknown_reading_are_errors(tmp_path):
    data = _data("paper")
    data["train"]["steps"] = 5
    with pytest.raises(ConfigError, match=r"\[train\] steps also set by \[schedules.paper\]"):
        parse_profile("paper", data, tmp_path / "paper.toml")
    with pytest.raises(ConfigError, match=r"schedule = 'epochs' is not one of the \[schedules\] tables"):
        parse_profile("paper", _data("paper") | {"schedule": "epochs"}, tmp_path / "paper.toml")
    bad = _data("paper")
    bad["schedules"]["paper"]["lr_milestones"] = [30, 60]
    with pytest.raises(ConfigError, match=r"\[schedules.paper\]: lr_milestones = 30.0 is out of range"):
        parse_profile("paper", bad, tmp_path / "paper.toml")


def _embedded(prof):
    """The paper profile's table settings on the embedded data (Vimeo90K is not here)."""
    return dataclasses.replace(prof, data=dataclasses.replace(prof.data, train_data="embedded", vimeo_test=False),
                               validation=dataclasses.replace(prof.validation, windows=4))


def test_tables_1_2_use_the_captions_net_s_and_loss_and_say_which_ran(vgg_file, monkeypatch):
    from starlib.study.trainings.catalog import T1, table_catalog
    prof = _embedded(load_profile("paper"))
    ws = Workspace.create(prof, progress=False)
    row = table_catalog(ws, 2)["STAR-ST"]
    what, note = row.training, row.note
    assert what.variant == {"net_s": "dbpn"} and what.overrides == {"perceptual_weight": 0.1}
    assert note.endswith("here: Net_S = DBPN, L_f")
    chain = P.stages(ws, what)
    cfgs = [P.run_configs(ws, t)[1] for t in chain]
    # the loss goes through the chain (STAR without FR, STAR, the finetune); Net_S and FR alone keep L_r
    assert [c.perceptual_weight for c in cfgs] == [0.0, 0.1, 0.0, 0.1, 0.1]
    assert P.setup(ws, what).startswith("Net_S=dbpn; L_f; schedule paper")
    monkeypatch.setenv("STARLIB_VGG19", str(vgg_file.parent / "absent.pth"))
    row = table_catalog(ws, 1)[T1.FULL]
    what, note = row.training, row.note
    assert what.overrides == {} and note.endswith("L_r (L_f asked for; VGG19 ImageNet weights missing)")
    cpu = Workspace.create("cpu", progress=False)
    assert table_catalog(cpu, 1)[T1.FULL].training == R.Training("STAR")       # cpu keeps its choices: RBPN, L_r


def test_the_lf_path_trains_and_scores_table3_end_to_end_from_a_weights_file(vgg_file, tmp_path):
    from starlib.study.trainings.catalog import T3
    from starlib.study.tables.tables_1_6 import table3
    ws = Workspace.create("smoke", runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache",
                          results_dir=tmp_path / "results", progress=False)
    entries = {e.label: e for e in table3(ws)}
    lf = entries[T3.LF]
    assert lf.status == "run" and lf.per_item is not None and len(lf.per_item)
    log = (lf.run.run_dir / "log.csv").read_text().splitlines()
    assert "vgg_sr_mid" in log[0] and lf.info["setup"].split("; ")[1] == "L_f"
    parent = P.run_configs(ws, R.Training("STAR-ST", overrides={"perceptual_weight": 0.1}))[1].init_from
    assert "vgg_sr_mid" in (ws.runs / parent / "log.csv").read_text().splitlines()[0]    # STAR with L_f too


def test_the_paper_profile_scores_the_vimeo90k_triplet_test_list(tmp_path):
    import numpy as np
    from PIL import Image
    root = tmp_path / "vimeo_triplet"
    names = ["00001/0001", "00001/0002", "00002/0007"]
    for name in names:
        (root / "sequences" / name).mkdir(parents=True)
        for k in (1, 2, 3):
            Image.fromarray(np.zeros((64, 112, 3), np.uint8)).save(root / "sequences" / name / f"im{k}.png")
    (root / "tri_testlist.txt").write_text("\n".join(names) + "\n")
    data = _data("paper")
    data["data"]["vimeo_root"] = str(root)
    bench = R.test_benchmarks(parse_profile("paper", data))
    assert list(bench) == ["middlebury", "ucf101", "vimeo90k"]
    assert [w.name for w in bench["vimeo90k"]] == names
    with pytest.raises(FileNotFoundError, match=r"vimeo_test = true .* set \[data\] vimeo_root"):
        R.test_benchmarks(load_profile("paper"))
    assert list(R.test_benchmarks(load_profile("cpu"))) == ["middlebury", "ucf101"]


def test_table5_reads_the_septuplet_folder_not_the_triplet_one(tmp_path):
    import numpy as np
    from PIL import Image
    from starlib.study.tables.tables_1_6 import septuplet_windows
    root = tmp_path / "vimeo_septuplet"
    names = ["00001/0001", "00003/0010"]
    for name in names:
        (root / "sequences" / name).mkdir(parents=True)
        for k in range(1, 8):
            Image.fromarray(np.full((64, 112, 3), 10 * k, np.uint8)).save(root / "sequences" / name / f"im{k}.png")
    (root / "sep_testlist.txt").write_text("\n".join(names) + "\n")
    data = _data("paper")
    data["data"]["vimeo_root"] = str(tmp_path / "vimeo_triplet")           # triplets: not what Table 5 reads
    data["zsm"]["vimeo_septuplet_root"] = str(root)
    data["tables"]["t5_crop"] = [64, 112]
    stacks, tag = septuplet_windows(parse_profile("paper", data))
    assert tag == "vimeo90k-septuplet-test" and len(stacks) == 2 and len(stacks[0].hr) == 5
