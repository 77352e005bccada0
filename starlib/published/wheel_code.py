"""The wheels' own architecture files, loaded by path for comparisons only (the equivalence tests,
``benchmarks/rife_choice.py``): never used to produce results.

A file is executed under a private package name whose search path is the wheel's folder, so its relative
imports (``from .arch_util import ...``) resolve there while the wheel's ``__init__`` (which imports VapourSynth)
never runs.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


def wheel_module(folder: Path, package: str, module: str) -> types.ModuleType:
    """``<folder>/<module>.py`` of the installed wheel ``package``, imported as ``_wheel_<package>.<module>``."""
    alias = f"_wheel_{package}"
    if alias not in sys.modules:
        stub = types.ModuleType(alias)
        stub.__path__ = [str(folder)]
        sys.modules[alias] = stub
    name = f"{alias}.{module}"
    if name not in sys.modules:
        path = Path(folder) / f"{module.replace('.', '/')}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(f"{path} is not in the installed {package} wheel; reinstall it")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]
