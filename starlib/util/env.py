"""Environment switches that change what the study does, read at the edge (where a workspace or command is
set up) and passed in as values, so the objects built from them stay pure.

    STARLIB_SHIPPED_SCORES   "0": score every method anew instead of seeding the score cache from the scores
                             shipped with the runs in git (default "1": seed)
    STARLIB_MAX_PARAMETERS   the largest network a checkpoint or profile may describe, in parameters (default
                             twice the paper's: :data:`starlib.models.checkpoint.MAX_PARAMETERS`); still read
                             where a checkpoint is checked (:func:`starlib.models.checkpoint.max_parameters`)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SHIPPED_SCORES = "STARLIB_SHIPPED_SCORES"
MAX_PARAMETERS = "STARLIB_MAX_PARAMETERS"


def shipped_scores_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """``$STARLIB_SHIPPED_SCORES`` is not ``0``: the score cache may be seeded from the shipped scores."""
    return environ.get(SHIPPED_SCORES, "1") != "0"
