"""Progress bars that read well both live and in a saved notebook.

In a live JupyterLab kernel, ``tqdm.auto`` draws a widget bar. A notebook executed headless (papermill,
the pipeline) has no frontend to draw it: the saved copy shows a frozen ``0%| | 0/3`` text repr where the
widget was. With ``STARLIB_PROGRESS=text`` in the environment (the pipeline sets it for its kernels) bars are
plain text instead, updated at most every ``mininterval`` seconds, so the saved stream ends with the bar's
final state ("100%| ... | 3/3 [...]").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlib.util import env

ENV = env.PROGRESS
TEXT_MININTERVAL_S = 10.0


def text_mode() -> bool:
    """Whether bars are plain text (``STARLIB_PROGRESS=text``)."""
    return env.setting(ENV).lower() == "text"


def progress_bar(*args: Any, **kwargs: Any):
    """A ``tqdm`` bar: ``tqdm.auto`` (a widget in a live notebook), or plain text in :func:`text_mode`."""
    if text_mode():
        from tqdm.std import tqdm

        kwargs.setdefault("mininterval", TEXT_MININTERVAL_S)
        kwargs.setdefault("ascii", True)
        kwargs["leave"] = True            # a cleared text bar would leave a blank line in the saved stream
        return tqdm(*args, **kwargs)
    from tqdm.auto import tqdm

    return tqdm(*args, **kwargs)


@contextmanager
def text_progress() -> Iterator[None]:
    """Plain-text bars inside the block, in this process and in the kernels it starts (they inherit the
    environment); the previous setting is restored after."""
    before = os.environ.get(ENV)
    os.environ[ENV] = "text"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before
