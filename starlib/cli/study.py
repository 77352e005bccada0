"""The study's commands: ``reproduce`` (every notebook, headless), ``report`` (the Markdown pages of the results),
``site`` (the executed notebooks as a static site) and ``scaling`` (claims against compute). Each takes the
options of the study module that does the work (whose own ``python -m starlib.study...`` stays an alias)."""

from __future__ import annotations

import argparse
from types import ModuleType

from starlib.cli.verb import Subparsers, Verb


def _verb(name: str, module: str, help: str) -> Verb:
    """A command whose options and work are ``add_arguments`` and ``run`` of the study module ``module``
    (imported only when the parser is built); its description is the module's ``DESCRIPTION`` or docstring."""
    def load() -> ModuleType:
        import importlib

        return importlib.import_module(f"starlib.study.{module}")

    def add(sub: Subparsers) -> None:
        study = load()
        p = sub.add_parser(name, help=help, description=getattr(study, "DESCRIPTION", study.__doc__),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        study.add_arguments(p)

    def run(args: argparse.Namespace) -> int:
        return load().run(args)

    return Verb(add, run)


VERBS = {
    "reproduce": _verb("reproduce", "pipeline", "run the whole study (or --notebooks N ...) headless: data, flows, "
                                                "trainings, every notebook (what `make reproduce` runs)"),
    "report": _verb("report", "report.report", "render docs/results/<profile>.md and benchmarks.md from the results CSVs"),
    "site": _verb("site", "report.site", "a static HTML site of a profile's executed notebooks (what `make report` runs)"),
    "scaling": _verb("scaling", "tables.scaling", "train and score one claim group's budgets of the [scaling] study "
                                           "(notebook 15 collects them)"),
}
