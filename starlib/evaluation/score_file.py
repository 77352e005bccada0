"""The on-disk form of a score-cache file, in which every row proves itself whole.

Each row ends in a ``row_check`` column: the first 16 hex digits of the SHA256 of the rest of the row's line as
written. A row is used only when its check matches, its numbers parse and its key (dataset, item, output) is
unique in the file; a row cut by a crash or a full disk, a duplicated or edited row, random bytes: each fails one
of these, and :func:`read_scores` leaves it out (the cache rescores it). Files written before the column existed
(the shipped ones under ``checkpoints/<profile>/scores/``) have no checks to prove a row: such a file is used only
when every row is whole (as many fields as the header, numbers that parse, the file ending in a newline) and
every key unique, else none of its rows is.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from starlib.util.atomic import atomic_write_text

KEYS = ["dataset", "item", "output"]
CHECK = "row_check"
TEXT_COLUMNS = {*KEYS, "niqe_status"}


def row_check(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def _fields(line: str) -> int:
    try:
        return len(next(csv.reader([line])))
    except (csv.Error, StopIteration):
        return -1


@dataclass
class ScoreFile:
    """What a score file holds that can be trusted (``rows``), and how many rows could not be (``dropped``,
    with the first ``reason``)."""

    rows: pd.DataFrame
    dropped: int = 0
    reason: str = ""

    @property
    def damaged(self) -> bool:
        return self.dropped > 0


def empty() -> pd.DataFrame:
    return pd.DataFrame(columns=KEYS)


def _parse(header: str, lines: list[str]) -> pd.DataFrame:
    return pd.read_csv(io.StringIO("\n".join([header, *lines]) + "\n"), dtype={k: str for k in TEXT_COLUMNS},
                       keep_default_na=False, na_values=[""])


def _bad_numbers(frame: pd.DataFrame) -> pd.Series:
    """Rows with a value that should be a number and is not (an empty field is a missing value, not an error)."""
    bad = pd.Series(False, index=frame.index)
    for column in frame.columns:
        if column in TEXT_COLUMNS:
            continue
        raw = frame[column]
        bad |= raw.notna() & pd.to_numeric(raw, errors="coerce").isna()
    bad |= frame[KEYS].isna().any(axis=1) if set(KEYS) <= set(frame.columns) else True
    return bad


def read_scores(path: Path) -> ScoreFile:
    """The trustworthy rows of the score file ``path`` (numbers as floats, keys as text); see the module."""
    text = Path(path).read_bytes().decode("utf-8", errors="replace")
    lines = text.splitlines()
    if not lines:
        return ScoreFile(empty(), 1, "the file is empty")
    header, body = lines[0], [ln for ln in lines[1:] if ln.strip()]
    names = next(csv.reader([header]))
    if not set(KEYS) <= set(names) or len(set(names)) != len(names):
        return ScoreFile(empty(), max(len(body), 1), "its header is not a score file's")
    if names[-1] == CHECK:
        kept, reason = [], ""
        for line in body:
            rest, _, check = line.rpartition(",")
            if row_check(rest) == check and _fields(rest) == len(names) - 1:
                kept.append(rest)
            elif not reason:
                reason = "a row whose check does not match (cut, edited or damaged)"
        header = header.rpartition(",")[0]
    else:
        whole = [ln for ln in body if _fields(ln) == len(names)]
        if len(whole) != len(body) or not text.endswith("\n"):
            return ScoreFile(empty(), len(body), "a row that is not whole (no row checks to tell which others are)")
        kept, reason = body, ""
    try:
        frame = _parse(header, kept)
    except (ValueError, pd.errors.ParserError) as exc:
        return ScoreFile(empty(), len(body), f"rows that do not parse ({exc})")
    bad = _bad_numbers(frame)
    duplicated = frame.duplicated(KEYS, keep=False) if len(frame) else bad
    if names[-1] != CHECK and (bad.any() or duplicated.any()):
        return ScoreFile(empty(), len(body), "a row that is not whole or a key that appears twice (no row checks "
                                             "to tell which rows are right)")
    if bad.any() and not reason:
        reason = "a row whose numbers do not parse"
    if duplicated.any() and not reason:
        reason = f"a key that appears more than once ({', '.join(frame.loc[duplicated, KEYS].iloc[0])})"
    frame = frame.loc[~(bad | duplicated)].reset_index(drop=True)
    for column in frame.columns:
        if column not in TEXT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return ScoreFile(frame, len(body) - len(frame), reason)


def scores_text(frame: pd.DataFrame) -> str:
    """The CSV text of ``frame`` with a ``row_check`` on every row."""
    frame = frame.drop(columns=[CHECK], errors="ignore")
    header, *rows = frame.to_csv(index=False, lineterminator="\n").splitlines()
    return "\n".join([f"{header},{CHECK}", *(f"{row},{row_check(row)}" for row in rows)]) + "\n"


def write_scores(path: Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` to ``path`` atomically, every row with its check."""
    return atomic_write_text(path, scores_text(frame))
