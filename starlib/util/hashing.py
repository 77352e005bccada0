"""SHA-256 of a file, read in 1 MiB blocks (data manifests, published and released weight files, run weights)."""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import numpy as np


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def current_file_sha256(path: str | os.PathLike) -> str:
    """:func:`file_sha256`, computed once per state of the file in this process (its size and modification time
    key the memo, so a file rewritten in place is hashed again): for weight files hashed on every use."""
    stat = os.stat(path)
    return _memo_sha256(Path(path).resolve(), stat.st_size, stat.st_mtime_ns)


@cache
def _memo_sha256(path: Path, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def array_digest(array: np.ndarray) -> bytes:
    """SHA-256 digest (32 bytes) of an array's shape, dtype and contents (C order): a content key for frames."""
    h = hashlib.sha256()
    h.update(f"{array.shape}{array.dtype}".encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.digest()
