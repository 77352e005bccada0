"""Environment switches that change what the study does: the one place they are read. Entry points (the command
line, :meth:`starlib.study.workspace.Workspace.create`, the benchmarks) read them here and pass the values in as
arguments and fields, so the objects built from them (profiles, workspaces, checkpoint loading) stay pure: given
the same arguments, they do the same thing whatever the environment holds.

    STARLIB_SHIPPED_SCORES   "0": score every method anew instead of seeding the score cache from the scores
                             shipped with the runs in git (default "1": seed)
    STARLIB_MAX_PARAMETERS   the largest network a checkpoint or profile may describe, in parameters (default
                             twice the paper's: :data:`starlib.models.checkpoint.MAX_PARAMETERS`)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from starlib.util.config import ConfigError

SHIPPED_SCORES = "STARLIB_SHIPPED_SCORES"
MAX_PARAMETERS = "STARLIB_MAX_PARAMETERS"


def shipped_scores_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """``$STARLIB_SHIPPED_SCORES`` is not ``0``: the score cache may be seeded from the shipped scores."""
    return environ.get(SHIPPED_SCORES, "1") != "0"


def positive_bound(name: str, default: int, error: type[Exception], unit: str,
                   environ: Mapping[str, str] = os.environ) -> int:
    """A positive whole-number bound from the environment variable ``name`` (``1e9`` and ``1_000`` accepted),
    else ``default``; a value that is not one raises ``error`` naming the variable and the default."""
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value.replace("_", ""))
        bound = int(number) if number.is_integer() else 0
    except ValueError:
        bound = 0
    if bound < 1:
        raise error(f"${name}={value!r} is not a positive whole number of {unit}; unset it (default {default:,}) "
                    f"or give e.g. {name}={2 * default}")
    return bound


def max_parameters(default: int, environ: Mapping[str, str] = os.environ) -> int:
    """``$STARLIB_MAX_PARAMETERS`` when set, else ``default`` (the caller's,
    :data:`starlib.models.checkpoint.MAX_PARAMETERS`): the bound an entry point passes to profile parsing and
    checkpoint loading."""
    return positive_bound(MAX_PARAMETERS, default, ConfigError, "parameters", environ)
