"""Opening, running and saving a notebook in JupyterLab (`make lab`) leaves the tracked file unchanged: the
server's pre-save hook writes it as committed (no outputs, the committed metadata) (a real jupyter server, saved through its REST API the way
JupyterLab autosaves, with the metadata JupyterLab adds)."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from starlib.util.paths import REPO_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, token: str, method: str = "GET", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


@pytest.mark.slow
def test_saving_from_jupyterlab_keeps_the_committed_file(tmp_path):
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "tools", repo / "tools")
    book = REPO_ROOT / "notebooks" / "00_networks.ipynb"
    (repo / "notebooks" / book.name).write_bytes(book.read_bytes())
    port, token = _free_port(), "t0ken"
    server = subprocess.Popen([sys.executable, "-m", "jupyter_server", f"--port={port}", "--no-browser",
                               "--allow-root", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={repo}",
                               f"--config={repo / 'tools' / 'jupyter_server_config.py'}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/contents/notebooks/{book.name}"
    try:
        for _ in range(120):
            try:
                model = _request(url, token)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("jupyter server did not start")
        nb = model["content"]
        nb["metadata"]["kernelspec"]["display_name"] = "Python 3 (ipykernel)"     # what JupyterLab writes
        nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python",
                                           "codemirror_mode": {"name": "ipython", "version": 3}}
        nb["nbformat_minor"] = 5
        for i, cell in enumerate(nb["cells"]):
            cell["id"] = f"cell-{i}"
            if cell["cell_type"] == "code":                                     # after Run All
                cell["execution_count"] = i + 1
                cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hello\n"}]
        _request(url, token, "PUT", {"type": "notebook", "format": "json", "content": nb})
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (repo / "notebooks" / book.name).read_bytes() == book.read_bytes()
