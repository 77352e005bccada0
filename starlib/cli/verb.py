"""What one command of ``python -m starlib`` is: how it adds its parser, and how it runs on the parsed arguments."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NamedTuple

#: The object ``ArgumentParser.add_subparsers`` returns: a verb adds its own parser to it.
Subparsers = argparse._SubParsersAction


class Verb(NamedTuple):
    """One command: ``add(sub)`` adds its parser (help line, description, arguments); ``run(args)`` does the work
    and returns the exit status."""

    add: Callable[[Subparsers], None]
    run: Callable[[argparse.Namespace], int]
