"""Bookkeeping files that cannot be read: one error naming the file and the fix, or the file kept aside."""

from __future__ import annotations

import os
from pathlib import Path


class DamagedFileError(ValueError):
    """A file the project wrote (a manifest, a score cache) that cannot be read as it stands; the message names
    the file and how to restore or regenerate it."""


def set_aside(path: str | os.PathLike) -> Path:
    """Rename the damaged ``path`` to ``PATH.damaged`` (replacing an older one) so that it can be regenerated
    while its bytes stay there to look at; returns the new name."""
    path = Path(path)
    aside = path.with_name(path.name + ".damaged")
    os.replace(path, aside)
    return aside
