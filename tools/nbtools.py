"""Notebook helpers for developers: build a notebook from cell sources, strip outputs.

    python tools/nbtools.py strip notebooks/*.ipynb     # remove outputs, counts and volatile metadata
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def strip(path: Path) -> bool:
    """Remove outputs, execution counts and volatile metadata; returns True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        cell.pop("id", None)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.nbformat_minor = 4
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after + ("" if after.endswith("\n") else "\n"))
        return True
    return False


def is_stripped(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "strip":
        raise SystemExit(__doc__)
    for arg in sys.argv[2:]:
        if strip(Path(arg)):
            print(f"stripped {arg}")


def from_percent(source: str) -> nbformat.NotebookNode:
    """Build a notebook from percent-format text: cells start with ``# %%`` (code),
    ``# %% [markdown]`` (markdown, lines prefixed ``# ``) or ``# %% parameters`` (the tagged cell)."""
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
