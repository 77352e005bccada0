"""Notebook helpers for developers: build a notebook from cell sources, strip outputs, normalise metadata.

    python tools/nbtools.py strip notebooks/*.ipynb     # remove outputs, counts and volatile metadata

:func:`normalize_metadata` is also what ``make lab`` applies on every save (tools/jupyter_server_config.py):
JupyterLab rewrites a notebook's kernelspec, language_info and cell ids when it autosaves, which alone would
make every later result ``-dirty``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


#: The notebook-level metadata the repository commits (whatever kernel or Python a machine has).
COMMITTED_METADATA = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                      "language_info": {"name": "python"}}


def normalize_metadata(nb: dict) -> dict:
    """Set the committed kernelspec and language_info, drop cell ids and per-run metadata (nbformat 4.4), in
    place; outputs are left alone (a user who ran a notebook has changed it)."""
    nb["metadata"] = {k: v for k, v in nb.get("metadata", {}).items() if k not in ("papermill", "widgets")}
    nb["metadata"].update({k: dict(v) for k, v in COMMITTED_METADATA.items()})
    for cell in nb.get("cells", []):
        cell.pop("id", None)
        for key in ("execution", "papermill"):
            cell.get("metadata", {}).pop(key, None)
    nb["nbformat_minor"] = 4
    return nb


def strip(path: Path) -> bool:
    """Remove outputs, execution counts and volatile metadata; returns True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    normalize_metadata(nb)
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
