"""A jupyter server (or JupyterLab) started the way `make lab` starts it, with the repository's save hook
(tools/jupyter_server_config.py), on a copy under a temporary folder so the checkout is never touched; for
tests/test_lab_save.py and tests/test_browser_lab.py."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from starlib.util.paths import REPO_ROOT

TOKEN = "t0ken"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, token: str = TOKEN, method: str = "GET", body: dict | None = None) -> dict:
    """A call of the server's REST API: the JSON it answers ({} for an empty answer)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def repo_copy(root: Path, notebooks: Mapping[str, bytes]) -> Path:
    """``root`` laid out as the repository for `make lab`: tools/ (the save hook) and ``notebooks`` (name ->
    file bytes) under notebooks/."""
    (root / "notebooks").mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "tools", root / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    for name, data in notebooks.items():
        (root / "notebooks" / name).write_bytes(data)
    return root


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def committed_repo(root: Path, notebooks: Mapping[str, bytes]) -> Path:
    """:func:`repo_copy` as a git repository with the repository's .gitignore and .gitattributes, everything
    committed and the notebooks' clean filter registered as `make venv` does (filter.nbclean)."""
    repo = repo_copy(root, notebooks)
    for name in (".gitignore", ".gitattributes"):
        shutil.copy(REPO_ROOT / name, repo / name)
    git(repo, "init", "-q")
    for key, value in {"user.name": "test", "user.email": "test@example.invalid", "commit.gpgsign": "false",
                       "filter.nbclean.clean": f"{sys.executable} tools/nbtools.py clean",
                       "filter.nbclean.smudge": "cat"}.items():
        git(repo, "config", key, value)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "notebooks as committed")
    return repo


@contextmanager
def jupyter(repo: Path, app: str = "jupyter_server", env: Mapping[str, str] | None = None,
            startup_s: float = 90.0) -> Iterator[str]:
    """Run ``python -m app`` (jupyter_server or jupyterlab) on ``repo`` with `make lab`'s config, its settings
    and runtime files (kernels' connection files) under ``repo``/../jupyter-home; yields the base URL (token
    :data:`TOKEN`). Stopped on exit, with its kernels (killed if it does not stop in 30 s)."""
    home = repo.parent / "jupyter-home"
    dirs = {name: home / name for name in ("config", "data", "runtime", "settings", "workspaces")}
    for folder in dirs.values():
        folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [sys.executable, "-m", app, f"--port={port}", "--ip=127.0.0.1", "--no-browser", "--allow-root",
           f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={repo}",
           f"--config={repo / 'tools' / 'jupyter_server_config.py'}"]
    if app == "jupyterlab":
        cmd += [f"--LabApp.user_settings_dir={dirs['settings']}", f"--LabApp.workspaces_dir={dirs['workspaces']}"]
        news = dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        news.parent.mkdir(parents=True, exist_ok=True)
        news.write_text('{"fetchNews": "false"}')       # no "get notified about Jupyter news?" toast
    full_env = {**os.environ, "JUPYTER_CONFIG_DIR": str(dirs["config"]), "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
                **(env or {})}
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=repo)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            try:
                request(f"{base}/api/status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start; its log:\n"
                                       f"{(home / 'server.log').read_text(errors='replace')[-3000:]}") from None
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def processes_using(path: Path) -> list[int]:
    """Ids of the running processes whose command line names ``path`` (a kernel names its connection file
    under the server's runtime folder); [] where /proc is absent."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(path).encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found
