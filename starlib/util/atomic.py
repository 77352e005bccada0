"""Atomic file writes: a crash or kill never leaves a half-written file at the final path.

A write that runs out of space (``ENOSPC`` / ``EDQUOT``, or the "file write failed" that ``torch.save`` raises
for it) ends in :class:`DiskFullError`: one line naming the path and the free space left; the temporary file is
removed and whatever was at the final path before stays as it was.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


FULL_ERRNOS = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


class DiskFullError(OSError):
    """A write that found no space left; its message names the path and the free space, and says what to do."""

    def __init__(self, path: str | os.PathLike, action: str = "nothing that existed before was replaced") -> None:
        path = Path(path)
        super().__init__(errno.ENOSPC, f"no space left on the device to write {path} ({free_space(path)} free); "
                                       f"{action}: free some space and run again")
        self.path = path

    def __str__(self) -> str:
        return self.strerror


def free_space(path: str | os.PathLike) -> str:
    """The free space of the filesystem holding ``path`` (its nearest existing folder), e.g. ``"12.0 KiB"``."""
    folder = Path(os.path.abspath(path))
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = float(shutil.disk_usage(folder).free)
    except OSError:
        return "unknown space"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if free < 1024 or unit == "GiB":
            return f"{free:.0f} bytes" if unit == "bytes" else f"{free:.1f} {unit}"
        free /= 1024
    return f"{free:.1f} GiB"  # pragma: no cover


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it came from) says the device is full: an OSError with ENOSPC/EDQUOT, or
    the RuntimeError torch's zip writer raises for a failed write."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        if isinstance(exc, RuntimeError) and ("write failed" in str(exc) or "unexpected pos" in str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the folder of ``path``; when the block succeeds, rename it over ``path``
    (atomic on POSIX), otherwise delete it. Parent folders are created."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(path) from exc
        raise
    try:
        yield Path(tmp)
        os.chmod(tmp, default_file_mode())  # mkstemp makes 0600 files; give the mode a plain open() would
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if not isinstance(exc, DiskFullError) and is_disk_full(exc):
            raise DiskFullError(path) from exc
        raise


@functools.cache
def default_file_mode() -> int:
    """The permission bits a newly created file gets from ``open()``: 0o666 minus the process umask (read once,
    from /proc where possible: setting the umask to read it would race with writer threads)."""
    mask = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    mask = int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    if mask is None:
        mask = os.umask(0)
        os.umask(mask)
    return 0o666 & ~mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
