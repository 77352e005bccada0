"""Fetch the registered data sets into the data root, checked file by file against their SHA-256.

Files come from their upstream repositories (raw-file URLs pinned to a commit, :mod:`starlib.data.registry`)
or, with a mirror (``mirror=`` / ``$STARLIB_DATA_MIRROR``: a folder laid out like the data root, e.g. a lab's
shared drive), are copied from there. Each file is written to a temporary name beside its final path, checked,
then renamed into place: an interrupted run leaves only whole, checked files, and the next run fetches just
what is missing or corrupt. Failures are one line naming the file and the fix (:class:`FetchError`).

:func:`require` is what the loaders call: the folder of a data set, fetched first (with a message saying
what and how large) when files are missing; when that is impossible, :class:`DataMissing` names
``python -m starlib data fetch``.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import socket
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from starlib.util import env
from starlib.util.atomic import atomic_path
from starlib.util.hashing import file_sha256
from starlib.util.paths import data_root
from starlib.util.progress import progress_bar

from .registry import DATASETS, Dataset, ManifestFile, dataset, human_size

MIRROR_ENV = env.DATA_MIRROR
TIMEOUT_S = 30.0
WORKERS = 8
CHUNK = 1 << 16
FETCH_COMMAND = "python -m starlib data fetch"


class FetchError(RuntimeError):
    """Files could not be fetched; the message (one line) names the file and the fix."""


class DataMissing(FileNotFoundError):
    """A data set a command needs is not in the data root and could not be fetched."""


class _Fatal(FetchError):
    """A failure every other file would hit too (no network, disk full): stop at once."""


def mirror_from_env() -> Path | None:
    given = env.setting(MIRROR_ENV)
    return Path(given).expanduser() if given else None


def file_state(path: Path, entry: ManifestFile, hash_it: bool = True) -> str:
    """``"present"``, ``"missing"`` or ``"corrupt"`` (wrong size, or with ``hash_it`` wrong SHA-256)."""
    try:
        size = path.stat().st_size
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    if size != entry.size or (hash_it and file_sha256(path) != entry.sha256):
        return "corrupt"
    return "present"


@dataclass(frozen=True)
class DatasetStatus:
    name: str
    folder: Path
    files: int
    present: int
    missing: int
    corrupt: int
    size: int

    @property
    def state(self) -> str:
        if self.present == self.files:
            return "present"
        return "corrupt" if self.corrupt else "missing"

    def line(self) -> str:
        return (f"{self.name:<12} {self.state:<8} {self.present}/{self.files} files present, {self.missing} missing, "
                f"{self.corrupt} corrupt ({human_size(self.size)})  {self.folder}")


def status(names: Iterable[str] | None = None, root: str | os.PathLike | None = None) -> list[DatasetStatus]:
    """Each data set's files in the data root counted as present / missing / corrupt (SHA-256 checked)."""
    root = Path(root) if root else data_root()
    out = []
    for d in (dataset(n) for n in (names or DATASETS)):
        states = [file_state(root / d.folder / f.path, f) for f in d.files]
        out.append(DatasetStatus(d.name, root / d.folder, len(states), states.count("present"),
                                 states.count("missing"), states.count("corrupt"), d.size))
    return out


# --- fetching one file ---------------------------------------------------------------------------------------

def _write_checked(target: Path, entry: ManifestFile, chunks: Iterable[bytes], origin: str) -> None:
    """Write ``chunks`` to a temporary file beside ``target``; rename it into place only when it has the
    manifest's size and SHA-256."""
    h, n = hashlib.sha256(), 0
    try:
        with atomic_path(target) as tmp:
            with tmp.open("wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    h.update(chunk)
                    n += len(chunk)
            if n != entry.size:
                raise FetchError(f"{origin}: got {n:,} of {entry.size:,} bytes (the connection dropped); run "
                                 f"`{FETCH_COMMAND}` again, it fetches only what is missing")
            if h.hexdigest() != entry.sha256:
                raise FetchError(f"{origin}: SHA-256 {h.hexdigest()[:12]}... is not the manifest's "
                                 f"{entry.sha256[:12]}... for {target}; nothing was kept; run again, and if it "
                                 f"persists the source changed: take the file from a mirror (--mirror DIR)")
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _Fatal(f"no space left on the device writing {target}: free space there or choose another data "
                         f"root (--root DIR or $STARLIB_DATA)") from exc
        if isinstance(exc, (ConnectionError, socket.timeout, TimeoutError)):
            raise FetchError(f"{origin}: the connection dropped ({exc}); run `{FETCH_COMMAND}` again, it fetches "
                             f"only what is missing") from exc
        raise


def _from_mirror(mirror: Path, d: Dataset, entry: ManifestFile, target: Path, tick: Callable[[int], None]) -> None:
    source = mirror / d.folder / entry.path
    if not source.is_file():
        raise FetchError(f"{source} is not in the mirror {mirror}: restore it there, or fetch without --mirror "
                         f"(and without ${MIRROR_ENV}) from {d.repository}")

    def chunks():
        with source.open("rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                tick(len(block))
                yield block

    try:
        _write_checked(target, entry, chunks(), f"mirror file {source}")
    except FetchError as exc:
        if isinstance(exc, _Fatal):
            raise
        raise FetchError(f"mirror file {source} does not match the manifest ({human_size(source.stat().st_size)}, "
                         f"SHA-256 differs): replace it in the mirror with the file from "
                         f"{d.url(entry.path)}, or fetch without --mirror") from exc


def _from_url(d: Dataset, entry: ManifestFile, target: Path, tick: Callable[[int], None]) -> None:
    url = d.url(entry.path)
    try:
        response = urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason} (for {target}); the source no longer serves it at "
                         f"the pinned commit: take it from a mirror (--mirror DIR)") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Fatal(f"cannot reach {url.split('/')[2]} ({reason}): check the network connection, or fetch from a "
                     f"local copy with `{FETCH_COMMAND} --mirror DIR` (or ${MIRROR_ENV})") from exc

    def chunks():
        with response:
            while True:
                try:
                    block = response.read(CHUNK)
                except http.client.IncompleteRead as exc:
                    tick(len(exc.partial))
                    yield exc.partial
                    return
                if not block:
                    return
                tick(len(block))
                yield block

    _write_checked(target, entry, chunks(), url)


def _write_text(entry: ManifestFile, target: Path, tick: Callable[[int], None]) -> None:
    data = entry.text.encode("utf-8")
    tick(len(data))
    _write_checked(target, entry, [data], f"the manifest's text of {entry.path}")


# --- fetching data sets -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FetchReport:
    fetched: int            # files written now
    kept: int               # files already present and checked
    bytes: int              # bytes written now


def _sources_line(mirror: Path | None, names: list[str]) -> str:
    return f"the mirror {mirror}" if mirror else ", ".join(sorted({dataset(n).repository for n in names}))


def fetch(names: Iterable[str] | None = None, root: str | os.PathLike | None = None,
          mirror: str | os.PathLike | None = None, workers: int = WORKERS, progress: bool = True,
          log: Callable[[str], None] | None = None) -> FetchReport:
    """Fetch every file of the data sets ``names`` (default: all) into ``root`` (default: the data root) that
    is missing or corrupt there, from ``mirror`` (default ``$STARLIB_DATA_MIRROR``) or the pinned URLs; raises
    :class:`FetchError` (one line) after trying every file, or at once when the network or disk fails."""
    names = list(names or DATASETS)
    root = Path(root) if root else data_root()
    mirror = Path(mirror).expanduser() if mirror else mirror_from_env()
    if mirror is not None and not mirror.is_dir():
        raise FetchError(f"mirror {mirror} is not a folder: give a folder laid out like the data root "
                         f"(<mirror>/{dataset(names[0]).folder}/...)")
    todo: list[tuple[Dataset, ManifestFile, Path]] = []
    kept = 0
    for d in (dataset(n) for n in names):
        for entry in d.files:
            target = root / d.folder / entry.path
            if file_state(target, entry) == "present":
                kept += 1
            else:
                todo.append((d, entry, target))
    if not todo:
        return FetchReport(0, kept, 0)
    total = sum(e.size for _, e, _ in todo)
    (log or (lambda m: print(m, file=sys.stderr)))(
        f"fetching {len(todo)} file(s), {human_size(total)}, of {', '.join(names)} into {root} from "
        f"{_sources_line(mirror, names)}")
    lock, stop = threading.Lock(), threading.Event()
    bars: list = []                                     # made at the first byte: a failed start draws no bar

    def tick(n: int) -> None:
        with lock:
            if not bars:
                bars.append(progress_bar(total=total, unit="B", unit_scale=True, desc="data", disable=not progress))
            bars[0].update(n)

    def one(item: tuple[Dataset, ManifestFile, Path]) -> FetchError | None:
        d, entry, target = item
        if stop.is_set():
            return None
        try:
            if entry.text is not None:
                _write_text(entry, target, tick)
            elif mirror is not None:
                _from_mirror(mirror, d, entry, target, tick)
            else:
                _from_url(d, entry, target, tick)
        except _Fatal as exc:
            stop.set()
            return exc
        except FetchError as exc:
            return exc
        return None

    try:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            errors = [e for e in pool.map(one, todo) if e is not None]
    finally:
        for bar in bars:
            bar.close()
    if errors:
        fatal = [e for e in errors if isinstance(e, _Fatal)]
        first = fatal[0] if fatal else errors[0]
        more = "" if fatal or len(errors) == 1 else f" ({len(errors)} files failed; this is the first)"
        raise FetchError(f"{first}{more}")
    return FetchReport(len(todo), kept, total)


def require(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of data set ``name`` in the data root. Files missing there (checked by size) are fetched
    first, from ``$STARLIB_DATA_MIRROR`` or the network, saying what and how large; when that fails,
    :class:`DataMissing` names the command that fetches them."""
    d = dataset(name)
    root = Path(root) if root else data_root()
    folder = root / d.folder
    absent = [f for f in d.files if file_state(folder / f.path, f, hash_it=False) != "present"]
    if not absent:
        return folder
    print(f"data set {name} ({d.title}): {len(absent)} of {len(d.files)} files are not in {folder}; fetching "
          f"them ({human_size(sum(f.size for f in absent))})", file=sys.stderr)
    try:
        fetch([name], root, progress=True, log=lambda m: None)
    except FetchError as exc:
        raise DataMissing(f"data set {name} is not in {folder} and could not be fetched ({exc}); fetch it with "
                          f"`{FETCH_COMMAND} {name}`") from None
    return folder


def require_under(path: str | os.PathLike) -> None:
    """If ``path`` is (in) a registered data set's folder in the data root, :func:`require` that data set."""
    path, root = Path(path).absolute(), data_root().absolute()
    for d in DATASETS.values():
        folder = root / d.folder
        if path == folder or folder in path.parents:
            require(d.name)
            return


def fetch_command_main(names: list[str], root: str | None, mirror: str | None, workers: int,
                       quiet: bool) -> int:
    """``python -m starlib data fetch``: fetch, then print what is where."""
    names = names or list(DATASETS)
    for n in names:
        if n not in DATASETS:
            raise FetchError(f"unknown data set {n!r}; known: {', '.join(DATASETS)} (or --all)")
    report = fetch(names, Path(root).expanduser().absolute() if root else None,
                   Path(mirror).expanduser().absolute() if mirror else None, workers, progress=not quiet)
    where = Path(root).expanduser().absolute() if root else data_root()
    print(f"{where}: {report.fetched} file(s) fetched ({human_size(report.bytes)}), {report.kept} already present "
          f"and checked; data sets {', '.join(names)} complete")
    return 0


def status_command_main(root: str | None) -> int:
    """``python -m starlib data status``: one line per data set; exit 1 when any is incomplete."""
    rows = status(root=Path(root).expanduser().absolute() if root else None)
    for row in rows:
        print(row.line())
    return 0 if all(r.state == "present" for r in rows) else 1


__all__ = ["DataMissing", "DatasetStatus", "FETCH_COMMAND", "FetchError", "FetchReport", "MIRROR_ENV", "fetch",
           "file_state", "mirror_from_env", "require", "require_under", "status"]
