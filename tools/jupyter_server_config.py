"""Jupyter server settings for `make lab`: notebooks under notebooks/ are saved with the committed metadata
(tools/nbtools.py normalize_metadata), so opening one in JupyterLab does not change the tracked file."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import normalize_metadata  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _normalize_on_save(model, path, contents_manager, **kwargs):
    if model.get("type") == "notebook" and (Path(contents_manager.root_dir) / path).resolve().parent == NOTEBOOKS:
        normalize_metadata(model["content"])


c = get_config()  # noqa: F821  (defined by Jupyter when it loads this file)
c.FileContentsManager.pre_save_hook = _normalize_on_save
