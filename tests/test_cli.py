"""The one command line (``python -m starlib COMMAND``): every command says what it does, the study's old
``python -m starlib.study.<module>`` entry points are aliases taking the same options, and the Makefile uses the
one command line."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

import pytest

from starlib.cli import COMMANDS, build_parser, main
from starlib.util.paths import REPO_ROOT

#: Every command a user runs, by what it replaced or wraps (the list the issue asks for).
EXPECTED = {"data", "reproduce", "report", "site", "scaling", "train", "prepare", "ship", "enhance",
            "import-official", "zsm"}


def _help(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_the_command_line_has_every_command():
    assert set(COMMANDS) == EXPECTED


def test_the_top_level_help_lists_every_command_with_its_help_line(capsys):
    text = _help(capsys, ["--help"])
    for name in COMMANDS:
        line = next((ln for ln in text.splitlines() if ln.strip().startswith(name)), None)
        assert line is not None, f"{name} missing from --help"
    assert "reproduce" in text and "headless" in text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_command_help_names_its_command_and_says_what_it_does(capsys, name):
    text = _help(capsys, [name, "--help"])
    assert text.startswith(f"usage: python -m starlib {name} ")
    usage_end = text.index("\n\n")
    assert len(text[usage_end:].strip().split()) > 8, f"{name} --help has no description"


def test_an_unknown_command_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["nosuchcommand"])
    assert stop.value.code == 2 and "nosuchcommand" in capsys.readouterr().err


# --- the study's old entry points are aliases --------------------------------------------------------------

ALIASES = [  # (command, study module, arguments)
    ("reproduce", "pipeline", ["--profile", "smoke", "--notebooks", "02", "13", "--allow-training", "--gpus", "0"]),
    ("report", "report.report", ["--profile", "smoke"]),
    ("site", "report.site", ["--profile", "smoke", "--out", "somewhere"]),
    ("scaling", "tables.scaling", ["--profile", "smoke", "--group", "central", "--budgets", "0.5", "2", "--list"]),
]


@pytest.mark.parametrize("command,module,argv", ALIASES, ids=[a[0] for a in ALIASES])
def test_an_old_entry_point_takes_the_same_options_to_the_same_work(monkeypatch, command, module, argv):
    import importlib

    study = importlib.import_module(f"starlib.study.{module}")
    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(study, "run", lambda args: seen.append(args) or 7)
    assert main([command, *argv]) == 7                 # the command's work is the module's run
    assert study.main(argv) == 7                       # the alias: the same options, the same work
    via_cli, via_alias = vars(seen[0]), vars(seen[1])
    assert via_cli.pop("command") == command
    assert via_cli == via_alias


def test_reproduce_reaches_the_pipeline_steps(monkeypatch):
    from starlib.study import pipeline

    given = []
    monkeypatch.setattr(pipeline, "fetch_data", lambda: None)
    monkeypatch.setattr(pipeline, "prepare", lambda *a, **k: given.append(("prepare", a)))
    monkeypatch.setattr(pipeline, "run_notebooks", lambda profile, sel, out, **kw: given.append((profile, sel, kw)))
    assert main(["reproduce", "--profile", "smoke", "--notebooks", "13"]) == 0
    assert given == [("smoke", ["13"], {"extra_parameters": None})]       # a selection computes its own flows
    given.clear()
    assert main(["reproduce", "--profile", "smoke", "--flow-workers", "3", "--allow-training"]) == 0
    assert given == [("prepare", ("smoke", 3)), ("smoke", None, {"extra_parameters": {"allow_training": True}})]


def test_an_old_entry_point_runs_as_a_module():
    """``python -m starlib.study.report`` (quoted in old notes and scripts) still starts."""
    out = subprocess.run([sys.executable, "-m", "starlib.study.report", "--help"], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "--profile" in out and "docs/results" in out


def test_python_m_starlib_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "starlib", "scaling", "--help"], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("usage: python -m starlib scaling") and "--group" in out


def test_make_reproduce_runs_the_one_command_line_with_options_it_accepts():
    made = subprocess.run(["make", "--no-print-directory", "-n", "reproduce", "NOTEBOOKS=02 13", "GPUS=2",
                           "ALLOW_TRAINING=1"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    words = shlex.split(made.splitlines()[-1])
    at = words.index("-m")
    assert words[at + 1:at + 3] == ["starlib", "reproduce"]
    args = build_parser().parse_args(words[at + 2:])
    assert (args.notebooks, args.gpus, args.allow_training) == (["02", "13"], 2, True)


def test_output_cut_short_by_its_reader_ends_quietly():
    """``python -m starlib train --all --list | head -1``: no traceback when the reader stops early."""
    proc = subprocess.Popen([sys.executable, "-m", "starlib", "train", "--profile", "smoke", "--all", "--list"],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()                       # the reader goes away before the first line
    err = proc.stderr.read()
    assert proc.wait() == 141 and "Traceback" not in err, err
