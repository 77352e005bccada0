"""Notebook helpers for developers: build a notebook from cell sources, strip outputs, normalise metadata.

    python tools/nbtools.py strip notebooks/*.ipynb     # remove outputs, counts and volatile metadata
    python tools/nbtools.py clean < nb.ipynb            # the same, stdin to stdout: the git filter (`make venv`)

:func:`normalize_metadata` is also what ``make lab`` applies on every save (tools/jupyter_server_config.py):
JupyterLab rewrites a notebook's kernelspec, language_info and cell ids when it autosaves, which alone would
make every later result ``-dirty``.
"""

from __future__ import annotations

import sys
from pathlib import Path


# One home for what a committed notebook is (also read by the provenance's dirty check); this checkout's starlib,
# whichever environment runs the script (git runs it as a filter from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from starlib.util.notebooks import COMMITTED_METADATA, clean_notebook, normalize_metadata  # noqa: E402,F401


def strip(path: Path) -> bool:
    """Remove outputs, execution counts and volatile metadata; returns True if the file changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    after = nbformat.writes(clean_notebook(nb))
    if after != before:
        path.write_text(after + ("" if after.endswith("\n") else "\n"))
        return True
    return False


def is_stripped(path: Path) -> bool:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def clean_stream(text: str) -> str:
    """The git ``clean`` filter: a notebook's text as the repository commits it, written as nbformat writes
    notebooks (sorted keys, indent 1, sources as lists of lines). Plain JSON, no Jupyter import: git runs it on
    every notebook it looks at. Text that is not a notebook passes through unchanged, so nothing is lost."""
    import json

    try:
        nb = json.loads(text)
        clean_notebook(nb)
    except (ValueError, AttributeError, TypeError):
        return text
    for cell in nb.get("cells", []):
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(keepends=True)
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def from_percent(source: str) -> "nbformat.NotebookNode":  # noqa: F821
    """Build a notebook from percent-format text: cells start with ``# %%`` (code),
    ``# %% [markdown]`` (markdown, lines prefixed ``# ``) or ``# %% parameters`` (the tagged cell)."""
    import nbformat

    cells = []
    for chunk in source.split("# %%")[1:]:
        header, _, body = chunk.partition("\n")
        body = body.strip("\n")
        if header.strip() == "[markdown]":
            text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cell = nbformat.v4.new_code_cell(body)
            if header.strip() == "parameters":
                cell.metadata["tags"] = ["parameters"]
            cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat_minor = 4
    return nb


def main(argv: list[str]) -> int:
    if argv[:1] == ["clean"] and len(argv) == 1:
        sys.stdout.write(clean_stream(sys.stdin.read()))
        return 0
    if len(argv) < 2 or argv[0] != "strip":
        raise SystemExit(__doc__)
    for arg in argv[1:]:
        if strip(Path(arg)):
            print(f"stripped {arg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
