"""Per-item scores memoised on disk, keyed by the identity of a method, so tables and notebooks share them."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from starlib.data.sources import Window
from starlib.evaluation.methods import Method
from starlib.evaluation.score_file import KEYS, empty, read_scores, write_scores
from starlib.evaluation.scoring import evaluate
from starlib.util.atomic import DiskFullError, atomic_write_text


def score_key(name: str) -> str:
    """A file-name-safe cache key."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


class ScoreCache:
    """``<root>/<key>.csv`` per method: one row per (dataset, item, output), every full-reference metric, and
    NIQE for the rows scored with it (``niqe_scored``). Scores of an item never change for a fixed method, so a
    key must name the method exactly (a training run's folder and input mode, a baseline's name).

    A row is used only when it proves itself whole and unique (:mod:`starlib.evaluation.score_file`); the rows
    that do not are rescored, with a one-line warning naming the file, and the file is rewritten clean."""

    def __init__(self, root: str | Path, shipped: str | Path | None = None,
                 may_seed: Callable[[str], bool] | None = None) -> None:
        """``shipped``: a folder of score files shipped in git (``checkpoints/<profile>/scores/``); a key missing
        from ``root`` is first copied from there when ``may_seed(file name)`` says the shipped file scores the
        same method (:class:`starlib.study.setup.shipped_scores.SeedCheck`: the same weights), so a fresh clone does
        not recompute what the study scored."""
        self.root = Path(root)
        self.shipped = Path(shipped) if shipped is not None else None
        self.may_seed = may_seed

    def _seed(self, key: str) -> None:
        path = self.path(key)
        if self.shipped is None or path.is_file():
            return
        source = self.shipped / path.name
        if source.is_file() and (self.may_seed is None or self.may_seed(path.name)):
            atomic_write_text(path, source.read_text())

    def path(self, key: str) -> Path:
        return self.root / f"{score_key(key)}.csv"

    def scores(self, method: Method, key: str, windows: Sequence[Window], dataset: str, outputs: Sequence[str],
               niqe: bool = False, scale: int = 4, progress: bool = True, desc: str | None = None) -> pd.DataFrame:
        """Per-item scores of ``method`` on ``windows``, computed only for the (item, output) pairs not yet
        cached (with NIQE when asked: rows scored without it do not answer a NIQE request). The result has NIQE
        exactly when it was asked for."""
        path = self.path(key)
        self._seed(key)
        known, damaged = empty(), False
        if path.is_file():
            found = read_scores(path)
            known, damaged = found.rows, found.damaged
            if damaged:
                print(f"warning: score cache {path}: {found.dropped} row(s) left out ({found.reason}); they are "
                      f"scored again when asked for and the file is rewritten without them", file=sys.stderr)
        have = set(map(tuple, known[KEYS].values)) if len(known) else set()
        if niqe:
            done = known["niqe_scored"].fillna(0).astype(bool) if "niqe_scored" in known.columns else None
            have = set(map(tuple, known.loc[done, KEYS].values)) if len(known) and done is not None else set()
        todo = [w for w in windows if any((dataset, w.name, o) not in have for o in outputs)]
        if todo:
            fresh = evaluate(method, todo, dataset, outputs, niqe=niqe, scale=scale, progress=progress,
                             desc=desc or f"{key} {dataset}").assign(niqe_scored=float(niqe))
            known = pd.concat([known, fresh], ignore_index=True).drop_duplicates(KEYS, keep="last")
        if todo or damaged:
            try:
                write_scores(path, known)
            except DiskFullError as exc:    # the scores are right, only not kept for the next run
                print(f"warning: score cache: {exc} (these scores are used but not cached)", file=sys.stderr)
        want = pd.DataFrame([(dataset, w.name, o) for w in windows for o in outputs], columns=KEYS).astype(str)
        # what was asked for, whatever else the cache holds: a table never depends on what ran before it
        drop = ["niqe_scored"] + ([] if niqe else ["niqe", "niqe_status"])
        known = known.drop(columns=[c for c in drop if c in known.columns])
        return want.merge(known.astype({k: str for k in KEYS}), on=KEYS, how="left")
