"""Opening, running and saving a notebook in JupyterLab (`make lab`) leaves the tracked file unchanged: the
server's pre-save hook writes it as committed (no outputs, the committed metadata) (a real jupyter server, saved through its REST API the way
JupyterLab autosaves, with the metadata JupyterLab adds). tests/test_browser_lab.py saves from JupyterLab itself."""

import pytest

from lab_server import jupyter, repo_copy, request
from starlib.util.paths import REPO_ROOT


@pytest.mark.slow
def test_saving_from_jupyterlab_keeps_the_committed_file(tmp_path):
    book = REPO_ROOT / "notebooks" / "00_networks.ipynb"
    repo = repo_copy(tmp_path / "repo", {book.name: book.read_bytes()})
    with jupyter(repo) as base:
        url = f"{base}/api/contents/notebooks/{book.name}"
        nb = request(url)["content"]
        nb["metadata"]["kernelspec"]["display_name"] = "Python 3 (ipykernel)"     # what JupyterLab writes
        nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python",
                                           "codemirror_mode": {"name": "ipython", "version": 3}}
        nb["nbformat_minor"] = 5
        for i, cell in enumerate(nb["cells"]):
            cell["id"] = f"cell-{i}"
            if cell["cell_type"] == "code":                                     # after Run All
                cell["execution_count"] = i + 1
                cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hello\n"}]
        request(url, method="PUT", body={"type": "notebook", "format": "json", "content": nb})
    assert (repo / "notebooks" / book.name).read_bytes() == book.read_bytes()
