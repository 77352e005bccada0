"""README.md and docs/*.md: every relative link and anchor resolves, every quoted command exists.

Commands are taken from fenced code blocks and inline code spans: ``make TARGET`` is checked against the
Makefile's rules, ``python -m starlib ...`` through the real argparse parser, ``python -m <module>`` and
``python <script>`` by the module or file existing.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from starlib.util.paths import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)
INLINE = re.compile(r"`([^`\n]+)`")
PYTHON = r"(?:\.venv/bin/)?python3?"


def anchors(text: str) -> set[str]:
    """GitHub's anchors of a Markdown page's headings (lower case, punctuation dropped, spaces to hyphens)."""
    text = FENCE.sub("", text)
    seen: dict[str, int] = {}
    out = set()
    for line in text.splitlines():
        m = re.match(r"#{1,6} +(.*?) *#*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower().replace("`", "")).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text())
    return [a or b for a, b in LINK.findall(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_relative_links_and_anchors_resolve(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):          # http(s), mailto: not checked offline
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
            broken.append(f"{target} (no heading with anchor #{anchor} in {dest.relative_to(REPO_ROOT)})")
    assert not broken, f"{page.relative_to(REPO_ROOT)}: broken links: {broken}"


def quoted_commands(text: str) -> list[str]:
    """Shell commands quoted in fenced bash blocks (continuations joined, comments dropped) and inline spans."""
    commands = []
    for lang, body in FENCE.findall(text):
        if lang not in ("bash", "sh", "shell", ""):
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = " ".join(re.sub(r"\s+#.*$", "", line).split())
            if line and not line.startswith("#"):
                commands.append(line)
    commands += [span for span in INLINE.findall(FENCE.sub("", text))
                 if re.match(rf"(make|{PYTHON}) ", span)]
    return commands


def make_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, re.M))


def _words(command: str) -> list[str]:
    command = re.sub(r"\[[^\]]*\]", "", command)            # optional parts, e.g. [--workers N]
    command = re.sub(r"<[^>]*>", "x", command)               # placeholders, e.g. <hash>
    return shlex.split(command)


def check_command(command: str) -> str | None:
    """None when ``command`` exists as quoted, else why not."""
    from starlib.__main__ import build_parser

    words = _words(command)
    if words[0] == "make":
        unknown = [w for w in words[1:] if "=" not in w and w not in make_targets()]
        return f"no make target {unknown}" if unknown else None
    if not re.fullmatch(PYTHON, words[0]):
        return None
    if words[1] == "-m" and words[2] == "starlib":
        from starlib.__main__ import COMMANDS

        if len(words) <= 4:                       # a mention of the tool or one of its commands, no arguments
            return None if words[3:] in ([], *([c] for c in COMMANDS)) else f"no command {words[3]}"
        try:
            build_parser().parse_args(words[3:])
        except SystemExit as stop:
            return None if stop.code == 0 else "rejected by starlib's argument parser"
        return None
    if words[1] == "-m":
        import importlib.util

        return None if importlib.util.find_spec(words[2]) else f"no module {words[2]}"
    if words[1].endswith(".py"):
        return None if (REPO_ROOT / words[1]).is_file() else f"no script {words[1]}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_quoted_commands_exist(page):
    commands = [c for c in quoted_commands(page.read_text()) if re.match(rf"(make|{PYTHON}) ", c)]
    failures = [f"{c!r}: {why}" for c in commands if (why := check_command(c))]
    assert not failures, f"{page.relative_to(REPO_ROOT)}: {failures}"


def test_the_checks_catch_broken_links_and_commands(tmp_path):
    assert check_command("make nosuchtarget") and check_command("make reproduce PROFILE=smoke") is None
    assert check_command("python -m starlib enhance in -o out --mode q")          # not a mode
    assert check_command("python -m starlib nosuchcommand") and check_command("python -m starlib zsm") is None
    assert check_command(".venv/bin/python -m starlib enhance in -o out --mode t") is None
    assert check_command("python -m starlib.nosuchmodule") and check_command("python benchmarks/nope.py")
    assert anchors("# A `b` c\n## Small-budget (x) y\n## A b c\n") == {"a-b-c", "small-budget-x-y", "a-b-c-1"}
    assert quoted_commands("```bash\nmake a \\\n  B=1   # note\n```\nand `make c` and `ls`") == ["make a B=1",
                                                                                          "make c"]


def test_readme_status_tally_matches_claims_csv():
    """The README's verdict counts are those of ``results/cpu/claims.csv`` (one home: the CSV)."""
    import pandas as pd

    from starlib.study.report.report import SUMMARY_ORDER

    claims = pd.read_csv(REPO_ROOT / "results" / "cpu" / "claims.csv")
    verdict = claims.groupby("claim")["verdict"].agg(lambda v: next(k for k in SUMMARY_ORDER if (v == k).any()))
    counts = verdict.value_counts()
    row = "| " + " | ".join(str(int(counts.get(k, 0))) for k in SUMMARY_ORDER) + " |"
    readme = (REPO_ROOT / "README.md").read_text()
    assert row in readme and f"**{len(verdict)} claims**" in readme


def test_readme_stays_short():
    assert len((REPO_ROOT / "README.md").read_text().splitlines()) <= 200
