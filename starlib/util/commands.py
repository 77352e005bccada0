"""The module entry points kept as aliases of ``python -m starlib COMMAND`` (``python -m starlib.study.pipeline``
and the like): one parser built from the command's own ``add_arguments`` and handed to its ``run``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence


def alias_main(description: str | None, add_arguments: Callable[[argparse.ArgumentParser], None],
               run: Callable[[argparse.Namespace], int], argv: Sequence[str] | None = None,
               prog: str | None = None) -> int:
    """Parse ``argv`` with the options ``add_arguments`` declares and return ``run``'s exit status."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))
