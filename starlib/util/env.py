"""Environment switches that change what the study does: the one place they are read. Entry points (the command
line, :meth:`starlib.study.workspace.Workspace.create`, the benchmarks) read them here and pass the values in as
arguments and fields, so the objects built from them (profiles, workspaces, checkpoint loading) stay pure: given
the same arguments, they do the same thing whatever the environment holds.

    STARLIB_SHIPPED_SCORES   "0": score every method anew instead of seeding the score cache from the scores
                             shipped with the runs in git (default "1": seed)
    STARLIB_MAX_PARAMETERS   the largest network a checkpoint or profile may describe, in parameters (default
                             twice the paper's: :data:`starlib.models.checkpoint.MAX_PARAMETERS`)

Where they are found, not what the study computes (read where they are used, through :func:`setting`):

    STARLIB_DATA             the data root (default data/ in the repository: :func:`starlib.util.paths.data_root`)
    STARLIB_DATA_MIRROR      a local copy to fetch the data sets from (:mod:`starlib.data.fetch`)
    STARLIB_MAX_PIXELS       the largest frame read, in pixels (:func:`starlib.data.images.max_pixels`)
    STARLIB_VGG19            VGG19 ImageNet weights for L_f (:func:`starlib.train.losses.find_vgg19_weights`)
    STARLIB_GIT_COMMIT       the commit results rows record, for a copy run elsewhere
                             (:func:`starlib.util.provenance.git_commit`)
    STARLIB_PROGRESS         "text": plain-text progress bars (:mod:`starlib.util.progress`; the pipeline sets it)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from starlib.util.config import ConfigError

SHIPPED_SCORES = "STARLIB_SHIPPED_SCORES"
MAX_PARAMETERS = "STARLIB_MAX_PARAMETERS"
DATA = "STARLIB_DATA"
DATA_MIRROR = "STARLIB_DATA_MIRROR"
MAX_PIXELS = "STARLIB_MAX_PIXELS"
VGG19 = "STARLIB_VGG19"
GIT_COMMIT = "STARLIB_GIT_COMMIT"
PROGRESS = "STARLIB_PROGRESS"


def setting(name: str, environ: Mapping[str, str] = os.environ) -> str:
    """The value of the environment variable ``name``, stripped; ``""`` when unset."""
    return environ.get(name, "").strip()


def shipped_scores_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """``$STARLIB_SHIPPED_SCORES`` is not ``0``: the score cache may be seeded from the shipped scores."""
    return environ.get(SHIPPED_SCORES, "1") != "0"


def positive_bound(name: str, default: int, error: type[Exception], unit: str,
                   environ: Mapping[str, str] = os.environ) -> int:
    """A positive whole-number bound from the environment variable ``name`` (``1e9`` and ``1_000`` accepted),
    else ``default``; a value that is not one raises ``error`` naming the variable and the default."""
    value = setting(name, environ)
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
