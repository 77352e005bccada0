"""``python -m starlib <command>``: the project's one command line (:mod:`starlib.cli`; ``--help`` lists the
commands). ``build_parser``, ``COMMANDS`` and ``main`` are re-exported for callers that import them from here."""

from __future__ import annotations

import sys

from starlib.cli import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
