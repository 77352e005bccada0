"""Fetching the registered data sets: end to end against a loopback HTTP server and a local mirror (no test needs
the internet), the registry's records and manifests, docs/datasets.md, and the one-line errors."""

from __future__ import annotations

import errno
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

import starlib.data.fetch

from starlib.data import registry
from starlib.data.fetch import DataMissing, FetchError, fetch, require, status
from starlib.data.registry import DATASETS, Dataset, datasets_markdown
from starlib.util.paths import REPO_ROOT, from_repo

fetch_mod = sys.modules["starlib.data.fetch"]

BODIES = {"a.png": b"A" * 70_000, "b.png": b"B" * 50_000, "c.png": b"C" * 3_000, "d.png": b"D" * 200_000}
LIST_TEXT = "one\ntwo\n"


class Server:
    """A loopback HTTP server: ``/<repository>/<commit>/<path>`` answers ``behaviour[path]``: ``"good"``, ``"corrupt"``
    (other bytes of the same size), ``"404"``, ``"drop"`` (headers for the whole file, half of it, then the
    connection closes)."""

    def __init__(self) -> None:
        self.behaviour: dict[str, str] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                server.requests.append(name)
                kind = server.behaviour.get(name, "good")
                body = BODIES.get(name)
                if body is None or kind == "404":
                    self.send_error(404)
                    return
                if kind == "corrupt":
                    body = bytes(reversed(body[:-1])) + b"x"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if kind == "drop" else body)
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @contextmanager
    def running(self):
        self.thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()


def _entry(path: str, data: bytes, text: str | None = None) -> dict:
    e = {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return {**e, "text": text} if text is not None else e


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A registered data set ``tiny`` (four frames from 'upstream', one list written from the manifest) served by a
    loopback server; yields (server, data root)."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    files = [_entry(f"frames/{n}", b) for n, b in BODIES.items()] + [_entry("list.txt", LIST_TEXT.encode(), LIST_TEXT)]
    (manifests / "tiny.json").write_text(json.dumps({"name": "tiny", "files": files}))
    monkeypatch.setattr(registry, "MANIFEST_DIR", manifests)
    d = Dataset(name="tiny", folder="sets/tiny", role="test", title="Tiny", description="test data",
                source="here", repository="someone/tiny", commit="0" * 40, paths=(("frames/", "deep/frames/"),),
                citation="none", licence="none", local=("list.txt",))
    monkeypatch.setitem(DATASETS, "tiny", d)
    monkeypatch.delenv(fetch_mod.MIRROR_ENV, raising=False)
    server = Server()
    monkeypatch.setattr(registry, "RAW_URL", f"http://127.0.0.1:{server.port}/{{repository}}/{{commit}}/{{path}}")
    with server.running():
        yield server, tmp_path / "root"


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob(".*"))


@pytest.mark.parametrize("kind, message", [
    ("corrupt", r"b\.png: SHA-256 [0-9a-f]{12}\.\.\. is not the manifest's .*take the file from a mirror"),
    ("404", r"b\.png: HTTP 404 .*take it from a mirror"),
    ("drop", r"b\.png: got 25,000 of 50,000 bytes \(the connection dropped\); run `python -m starlib data fetch` again"),
])
def test_a_bad_download_is_one_line_naming_the_file_and_nothing_half_written_stays(tiny, kind, message):
    server, root = tiny
    server.behaviour["b.png"] = kind
    with pytest.raises(FetchError, match=message) as info:
        fetch(["tiny"], root, workers=2, progress=False)
    assert "\n" not in str(info.value)
    assert "b.png" in server.requests and server.requests.count("b.png") == 1
    assert not (root / "sets/tiny/frames/b.png").exists() and not _leftovers(root)
    (row,) = status(["tiny"], root)
    assert (row.present, row.missing, row.corrupt, row.state) == (4, 1, 0, "missing")


def test_a_second_run_fetches_only_what_is_missing_or_corrupt(tiny):
    server, root = tiny
    server.behaviour.update({"b.png": "corrupt", "c.png": "404", "d.png": "drop"})
    with pytest.raises(FetchError, match=r"\(3 files failed; this is the first\)"):
        fetch(["tiny"], root, workers=3, progress=False)
    assert (root / "sets/tiny/frames/a.png").read_bytes() == BODIES["a.png"]
    assert (root / "sets/tiny/list.txt").read_text() == LIST_TEXT               # written from the manifest
    assert sorted(server.requests) == ["a.png", "b.png", "c.png", "d.png"]       # the list is never downloaded
    (root / "sets/tiny/frames/a.png").write_bytes(b"A" * 69_999 + b"Z")           # damaged after the fact
    server.behaviour.clear()
    server.requests.clear()
    report = fetch(["tiny"], root, workers=3, progress=False)
    assert sorted(server.requests) == ["a.png", "b.png", "c.png", "d.png"] and report.fetched == 4 and report.kept == 1
    server.requests.clear()
    again = fetch(["tiny"], root, progress=False)
    assert server.requests == [] and (again.fetched, again.kept) == (0, 5)
    assert status(["tiny"], root)[0].state == "present" and not _leftovers(root)


def test_no_network_stops_at_once_with_one_line(tiny, monkeypatch):
    server, root = tiny
    closed = server.port
    server.httpd.server_close()                                  # nothing listens on the port any more
    monkeypatch.setattr(registry, "RAW_URL", f"http://127.0.0.1:{closed}/{{repository}}/{{commit}}/{{path}}")
    with pytest.raises(FetchError, match=r"cannot reach 127\.0\.0\.1:\d+ .*check the network connection, or fetch "
                                         r"from a local copy with `python -m starlib data fetch --mirror DIR`"):
        fetch(["tiny"], root, workers=1, progress=False)
    assert not (root / "sets/tiny/frames").exists() or not any((root / "sets/tiny/frames").iterdir())


def test_a_full_disk_is_one_line_naming_the_fix(tiny, monkeypatch):
    _, root = tiny

    @contextmanager
    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device")
        yield  # pragma: no cover

    monkeypatch.setattr(fetch_mod, "atomic_path", full)
    with pytest.raises(FetchError, match=r"no space left on the device writing .*: free space there or choose "
                                         r"another data root \(--root DIR or \$STARLIB_DATA\)"):
        fetch(["tiny"], root, progress=False)


def test_a_mirror_is_verified_the_same_way(tiny, tmp_path):
    server, root = tiny
    mirror = tmp_path / "mirror"
    (mirror / "sets/tiny/frames").mkdir(parents=True)
    for name, body in BODIES.items():
        if name != "c.png":                                               # c.png missing from the mirror
            (mirror / "sets/tiny/frames" / name).write_bytes(body)
    (mirror / "sets/tiny/frames/d.png").write_bytes(BODIES["d.png"][:-1] + b"?")   # corrupt
    with pytest.raises(FetchError) as info:
        fetch(["tiny"], root, mirror=mirror, progress=False)
    assert "\n" not in str(info.value) and "2 files failed" in str(info.value)
    assert server.requests == []                                          # a mirror never touches the network
    msgs = []
    for name in ("c.png", "d.png"):                                      # each failure on its own
        with pytest.raises(FetchError) as one:
            fetch_mod._from_mirror(mirror, DATASETS["tiny"], next(f for f in DATASETS["tiny"].files
                                                                   if f.path.endswith(name)), root / name, lambda n: None)
        msgs.append(str(one.value))
    assert "c.png is not in the mirror" in msgs[0] and "fetch without --mirror" in msgs[0]
    assert "d.png does not match the manifest" in msgs[1] and "replace it in the mirror" in msgs[1]
    assert not (root / "d.png").exists()
    (row,) = status(["tiny"], root)
    assert (row.present, row.missing, row.corrupt) == (3, 2, 0)
    (root / "sets/tiny/frames/a.png").write_bytes(b"x")
    assert status(["tiny"], root)[0].corrupt == 1


def test_require_fetches_a_missing_set_saying_what_and_how_large(tiny, tmp_path, monkeypatch, capsys):
    _, root = tiny
    monkeypatch.setenv("STARLIB_DATA", str(root))
    folder = require("tiny")
    assert folder == root / "sets/tiny" and (folder / "frames/d.png").read_bytes() == BODIES["d.png"]
    assert "data set tiny (Tiny): 5 of 5 files are not in" in capsys.readouterr().err
    assert require("tiny") == folder and capsys.readouterr().err == ""        # present: nothing to say
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(fetch_mod.MIRROR_ENV, str(tmp_path / "empty"))
    (folder / "frames/a.png").unlink()
    with pytest.raises(DataMissing, match=r"data set tiny is not in .* could not be fetched \(.*a\.png is not in the "
                                          r"mirror.*\); fetch it with `python -m starlib data fetch tiny`") as info:
        require("tiny")
    assert "\n" not in str(info.value)


def test_with_no_data_and_no_source_a_command_fails_in_one_line_naming_the_fetch(tmp_path):
    (tmp_path / "empty").mkdir()
    env = {**os.environ, "STARLIB_DATA": str(tmp_path / "data"), "STARLIB_DATA_MIRROR": str(tmp_path / "empty"),
           "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "starlib", "zsm", "--quiet", "--no-bicubic"], env=env,
                          capture_output=True, text=True, timeout=300)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert err[-1].startswith("error: data set toflow_clip is not in") and "`python -m starlib data fetch toflow_clip`" in err[-1]
    shown = subprocess.run([sys.executable, "-m", "starlib", "data", "status"], env=env, capture_output=True, text=True)
    assert shown.returncode == 1 and len(shown.stdout.splitlines()) == len(DATASETS)
    assert all(" missing " in line for line in shown.stdout.splitlines())


# --- the registry ----------------------------------------------------------------------------------------------

def test_every_record_pins_a_full_commit_and_maps_every_file():
    for d in DATASETS.values():
        assert len(d.commit) == 40 and int(d.commit, 16) >= 0 and d.role and d.citation and d.licence, d.name
        paths = {f.path for f in d.files}
        assert len(paths) == len(d.files) > 0 and set(d.local) <= paths, d.name
        for f in d.files:
            assert len(f.sha256) == 64 and f.size > 0
            if f.path in d.local:
                assert hashlib.sha256(f.text.encode()).hexdigest() == f.sha256, f.path
            else:
                assert f.text is None
                assert d.url(f.path).startswith(f"https://raw.githubusercontent.com/{d.repository}/{d.commit}/")
    url = DATASETS["vid4"].url("GT/calendar/Frame 001.png")
    assert url.endswith("/f6b3c92b4fb746e9072953df4876168b1a83e449/inputs/G/calendar/Frame%20001.png")
    assert DATASETS["middlebury"].upstream_path("other-gt-interp/Venus/frame10i11.png") == \
        "test_data/middlebury_others/gt/Venus/frame10i11.png"
    assert {n: len(d.files) for n, d in DATASETS.items()} == {"middlebury": 37, "ucf101": 856, "davis": 90,
                                                              "toflow_clip": 12, "vid4": 171, "vimeo_lists": 3}


def test_docs_datasets_is_generated_from_the_registry():
    assert (REPO_ROOT / "docs" / "datasets.md").read_text(encoding="utf-8") == datasets_markdown(), \
        "regenerate it: python tools/data_manifests.py --docs"


def test_data_paths_of_profiles_follow_the_data_root(tmp_path, monkeypatch):
    monkeypatch.delenv("STARLIB_DATA", raising=False)
    assert from_repo("data/vid4") == str(REPO_ROOT / "data" / "vid4")
    assert from_repo("results/x") == str(REPO_ROOT / "results" / "x")
    monkeypatch.setenv("STARLIB_DATA", str(tmp_path))
    assert from_repo("data/vid4") == str(tmp_path / "vid4") and from_repo("/abs/data") == "/abs/data"
