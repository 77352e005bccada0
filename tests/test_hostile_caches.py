"""Caches and bookkeeping files that lie: a score-cache row duplicated, cut, edited or replaced by random bytes
is never used (it is rescored with a one-line warning naming the file, and the file rewritten clean); the
shipped score files without row checks are used only when whole; `ship` refuses a damaged cache; a broken
scores MANIFEST.json is one line with the fix; a damaged notebook_times.csv is kept aside.
"""

import shutil

import pandas as pd
import pytest

from starlib.data import middlebury_other
from starlib.evaluation.baselines import frame_average
from starlib.evaluation.score_cache import ScoreCache
from starlib.evaluation.score_file import CHECK, read_scores, row_check, scores_text, write_scores
from starlib.study.setup.shipped_scores import SeedCheck, read_manifest
from starlib.util.damaged import DamagedFileError
from starlib.util.paths import REPO_ROOT

SHIPPED = REPO_ROOT / "checkpoints" / "cpu" / "scores"


class Counting:
    """A method that averages the outer frames and counts the items it scores."""

    def __init__(self):
        self.calls = []

    def __call__(self, stack):
        self.calls.append(stack.name)
        return {"lr_mid": frame_average(stack.lr[0], stack.lr[-1])}


@pytest.fixture(scope="module")
def windows():
    return middlebury_other()[:3]


@pytest.fixture(scope="module")
def scored(tmp_path_factory, windows):
    """A clean cache file of three items and the scores it answers with."""
    root = tmp_path_factory.mktemp("scores")
    table = ScoreCache(root).scores(Counting(), "avg", windows, "middlebury", ("lr_mid",), progress=False)
    return root / "avg.csv", table


def reread(path, tmp_path, windows, capsys, text):
    """Write ``text`` as the cache file, ask for the scores again: (scores, items rescored, stderr)."""
    target = tmp_path / path.name
    target.write_bytes(text if isinstance(text, bytes) else text.encode())
    method = Counting()
    table = ScoreCache(tmp_path).scores(method, "avg", windows, "middlebury", ("lr_mid",), progress=False)
    return table, method.calls, capsys.readouterr().err


def test_a_clean_cache_is_used_as_it_is(scored, tmp_path, windows, capsys):
    path, table = scored
    again, calls, err = reread(path, tmp_path, windows, capsys, path.read_text())
    assert calls == [] and err == ""
    pd.testing.assert_frame_equal(again, table)
    assert path.read_text().splitlines()[0].endswith("," + CHECK)


def with_psnr(line: str, value: str, sign: bool = False) -> str:
    """``line`` (a row with its check) with another PSNR; with ``sign``, its check recomputed to match."""
    fields = line.split(",")
    fields[4] = value
    return ",".join(fields[:-1] + [row_check(",".join(fields[:-1]))]) if sign else ",".join(fields)


@pytest.mark.parametrize("damage", ["duplicated", "duplicated and re-signed", "cut", "edited", "garbled number",
                                    "random bytes", "no newline"])
def test_a_damaged_row_is_rescored_with_one_warning_and_the_file_rewritten(scored, tmp_path, windows, capsys,
                                                                            damage):
    path, table = scored
    text = path.read_text()
    header, first, second, third = text.splitlines()
    edits = {"duplicated": [header, first, second, second, third],
             "duplicated and re-signed": [header, first, second, with_psnr(second, "99.0", sign=True), third],
             "cut": [header, first, second, third[: len(third) // 2]],
             "edited": [header, first, with_psnr(second, "99.0"), third],
             "garbled number": [header, first, second, with_psnr(third, "3x.5", sign=True)]}
    if damage in edits:
        text = "\n".join(edits[damage]) + "\n"
    elif damage == "random bytes":
        text = bytes(range(256)) * 4
    else:
        text = text.rstrip("\n")[:-3]                     # the last row cut inside its check
    again, calls, err = reread(path, tmp_path, windows, capsys, text)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: score cache ") and str(tmp_path / path.name) in lines[0]
    assert 1 <= len(calls) <= 3 and len(again) == 3
    pd.testing.assert_frame_equal(again.drop(columns="seconds"), table.drop(columns="seconds"))
    rewritten = read_scores(tmp_path / path.name)
    assert not rewritten.damaged and len(rewritten.rows) == 3
    _, calls, err = reread(path, tmp_path, windows, capsys, (tmp_path / path.name).read_bytes())
    assert calls == [] and err == ""                            # clean now: nothing rescored, no warning


def test_the_duplicated_row_of_the_report_no_longer_counts_twice(scored, tmp_path, windows, capsys):
    path, table = scored
    header, *rows = path.read_text().splitlines()
    again, calls, _ = reread(path, tmp_path, windows, capsys, "\n".join([header, *rows, rows[0]]) + "\n")
    assert len(again) == 3 and calls == [windows[0].name]
    assert again.psnr.mean() == pytest.approx(table.psnr.mean())


def test_every_shipped_score_file_is_read_whole_without_change():
    names = sorted(SHIPPED.glob("*.csv"))
    assert names
    for path in names:
        found = read_scores(path)
        raw = pd.read_csv(path, dtype={"item": str})
        assert not found.damaged and len(found.rows) == len(raw), path
        pd.testing.assert_frame_equal(found.rows[["psnr", "ssim"]], raw[["psnr", "ssim"]])


def test_a_file_without_row_checks_is_used_only_when_every_row_is_whole(tmp_path):
    source = sorted(SHIPPED.glob("*.csv"))[0]
    header, *rows = source.read_text().splitlines()
    for bad in ([header, *rows, rows[0]], [header, *rows[:-1], rows[-1][:-4]], [header, rows[0][:40], *rows[1:]]):
        (tmp_path / source.name).write_text("\n".join(bad) + "\n")
        found = read_scores(tmp_path / source.name)
        assert found.damaged and found.rows.empty          # no checks to tell which rows are right: none is used
    (tmp_path / source.name).write_text("\n".join([header, *rows]))           # the last line may be cut
    assert read_scores(tmp_path / source.name).damaged


def test_a_written_file_carries_a_check_on_every_row(tmp_path):
    frame = pd.DataFrame({"dataset": ["d", "d"], "item": ["1", "a,b"], "output": ["o", "o"], "psnr": [30.5, None]})
    write_scores(tmp_path / "x.csv", frame)
    found = read_scores(tmp_path / "x.csv")
    assert not found.damaged and list(found.rows.item) == ["1", "a,b"] and found.rows.psnr.isna().tolist() == [
        False, True]
    assert scores_text(found.rows) == (tmp_path / "x.csv").read_text()


def test_ship_refuses_a_damaged_cache(tmp_path):
    from starlib.study.trainings.shipping import _scores_to_ship

    source = sorted(SHIPPED.glob("STAR-S-*.csv"))[0]
    header, *rows = source.read_text().splitlines()
    (tmp_path / source.name).write_text("\n".join([header, *rows, rows[0]]) + "\n")
    runs = {source.stem.split("-lr")[0]}
    with pytest.raises(DamagedFileError, match=f"score cache {tmp_path / source.name} is damaged.*then ship"):
        _scores_to_ship(tmp_path, runs)
    shutil.copy(source, tmp_path / source.name)
    assert _scores_to_ship(tmp_path, runs) == [tmp_path / source.name]


@pytest.mark.parametrize("text", [b"{not json", b"\xff\xfe\x00garbage", b'["a list"]', b'{"x.csv": 3}'])
def test_a_broken_scores_manifest_is_one_line_with_the_fix(tmp_path, text):
    (tmp_path / "MANIFEST.json").write_bytes(text)
    with pytest.raises(DamagedFileError) as info:
        SeedCheck(tmp_path, tmp_path / "runs")("x.csv")
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "MANIFEST.json") in message and "git checkout --" in message
    assert read_manifest(SHIPPED)                     # the shipped one reads


def test_a_damaged_notebook_times_file_is_kept_aside(tmp_path, capsys):
    from starlib.study.pipeline import TIMES_FILE, record_times

    folder = tmp_path / "cpu"
    folder.mkdir()
    (folder / TIMES_FILE).write_bytes(b"\x00\xff" * 50 + b"\n\"unclosed")
    path = record_times({"01_x.ipynb": 1.5}, tmp_path, "cpu")
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(path) in err and "notebook_times.csv.damaged" in err
    assert (folder / (TIMES_FILE + ".damaged")).read_bytes().startswith(b"\x00\xff")
    assert pd.read_csv(path).notebook.tolist() == ["01_x.ipynb"]


@pytest.mark.parametrize("damage", [b"\x00\xff\xfe" * 40 + b"\n\"cut in a quoted field", b""])
def test_a_damaged_results_table_is_one_line_naming_it(tmp_path, damage):
    from starlib.study.tables.claims import evaluate_claims
    from starlib.study.tables.render import render_all

    source = REPO_ROOT / "results" / "cpu"
    for name in ("table8.csv", "table8_items.csv"):
        shutil.copy(source / name, tmp_path / name)
    (tmp_path / "table8_items.csv").write_bytes(damage)
    with pytest.raises(DamagedFileError, match=r"table8_items\.csv is damaged .*git checkout --") as info:
        evaluate_claims(tmp_path)
    assert "\n" not in str(info.value)
    (tmp_path / "table8.csv").write_bytes(damage)
    with pytest.raises(DamagedFileError, match=r"table8\.csv is damaged"):
        render_all(tmp_path)
