"""Jupyter server settings for `make lab`: notebooks under notebooks/ are saved as the repository commits them
(tools/nbtools.py, starlib.util.notebooks.clean_notebook: no outputs, the committed metadata), so a JupyterLab
session, autosave included, leaves `git status` clean. The outputs stay in the open tab; executed copies with
outputs are what `make reproduce` writes to executed/<profile>/. STARLIB_LAB_KEEP_OUTPUTS=1 saves the outputs
too (then git's clean filter, registered by `make venv`, keeps them out of commits, and git_commit() out of the
provenance, but `git status` lists the notebook until `git add`)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import clean_notebook, normalize_metadata  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KEEP_OUTPUTS = os.environ.get("STARLIB_LAB_KEEP_OUTPUTS", "") not in ("", "0")


def _clean_on_save(model, path, contents_manager, **kwargs):
    if model.get("type") == "notebook" and (Path(contents_manager.root_dir) / path).resolve().parent == NOTEBOOKS:
        (normalize_metadata if KEEP_OUTPUTS else clean_notebook)(model["content"])


c = get_config()  # noqa: F821  (defined by Jupyter when it loads this file)
c.FileContentsManager.pre_save_hook = _clean_on_save
