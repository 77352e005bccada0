"""What the repository commits of a notebook: no outputs, no execution counts, the committed metadata.

One home for the rule, used by ``tools/nbtools.py`` (the ``strip`` command, the git ``clean`` filter that
``make venv`` registers, JupyterLab's save hook of ``make lab``) and by :func:`starlib.util.provenance.git_commit`
(a notebook whose only change is its outputs does not make the tree dirty). Works on the notebook's JSON as a
plain dict, so the git filter needs no Jupyter import.
"""

from __future__ import annotations

import json
from typing import Any

#: The notebook-level metadata the repository commits (whatever kernel or Python a machine has).
COMMITTED_METADATA = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                      "language_info": {"name": "python"}}


def normalize_metadata(nb: dict[str, Any]) -> dict[str, Any]:
    """Set the committed kernelspec and language_info, drop cell ids and per-run metadata (nbformat 4.4), in
    place; outputs are left alone."""
    nb["metadata"] = {k: v for k, v in nb.get("metadata", {}).items() if k not in ("papermill", "widgets")}
    nb["metadata"].update({k: dict(v) for k, v in COMMITTED_METADATA.items()})
    for cell in nb.get("cells", []):
        cell.pop("id", None)
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            cell.get("metadata", {}).pop(key, None)
    nb["nbformat_minor"] = 4
    return nb


def clean_notebook(nb: dict[str, Any]) -> dict[str, Any]:
    """:func:`normalize_metadata` and remove every code cell's outputs and execution count, in place."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return normalize_metadata(nb)


def same_when_clean(a: str | bytes, b: str | bytes) -> bool:
    """Whether two notebook files (JSON text) commit the same: equal after :func:`clean_notebook`. Text that is
    not a notebook compares as text."""
    try:
        return clean_notebook(json.loads(a)) == clean_notebook(json.loads(b))
    except (ValueError, AttributeError, TypeError):
        return a == b
