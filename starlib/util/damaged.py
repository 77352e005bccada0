"""Bookkeeping files that cannot be read: one error naming the file and the fix, or the file kept aside."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


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


def read_results_csv(path: str | os.PathLike, **options: Any) -> pd.DataFrame:
    """``pandas.read_csv(path, **options)`` for a CSV the study wrote (a results table); a file that cannot be
    read (random bytes, cut in a quoted field, empty) is a :class:`DamagedFileError` naming it and the fix."""
    import pandas as pd

    try:
        return pd.read_csv(path, **options)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:   # EmptyDataError is a ValueError
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
        raise DamagedFileError(f"{path} is damaged ({reason}); restore the committed one with `git checkout -- "
                               f"{path}` or run again the notebook that writes it") from exc
