"""How long notebook 13's comparison takes to redraw after a change of sample or output (docs/performance.md).

    python benchmarks/compare_redraw.py --profile smoke

Builds the methods of Tables 7-10 once (training or installing the profile's runs as notebook 13 does; not
timed), then times, on one :class:`starlib.study.report.compare_ui.ComparisonUI` with no background prefetch:

1. the first view (ST-SR, the first sample) of a session whose output cache is empty,
2. a change to the next sample (not computed yet), 3. back to the first (in memory),
4. a change of output to S-SR (not computed yet);

then, on a second widget (a new session: nothing in memory, what a restarted kernel sees), 5. its first view and
6. the change to the next sample: from the output cache on disk (``--memory-only``: without it, as before the
cache existed); 7. adding the published BasicVSR -> RIFE cascade to that view (when the wheels are installed).
Each time covers running the methods (or reading their outputs), the metrics, and rendering the figure to a PNG
and the table to HTML as a notebook's display does. Prints one line per step; the output cache is emptied first
(``--keep`` keeps it). Nothing under results/ or figures/ is written.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import time
from unittest import mock
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from starlib.study.report import compare_ui                     # noqa: E402
from starlib.study.tables.tables_7_10 import Comparisons         # noqa: E402
from starlib.study.setup.workspace import Workspace             # noqa: E402


def render(obj: Any) -> None:
    """What a notebook's display does with the widget's outputs: a figure to PNG, a styled table to HTML."""
    if hasattr(obj, "savefig"):
        obj.savefig(io.BytesIO(), format="png")
    elif hasattr(obj, "to_html"):
        obj.to_html()


def timed(what: str, action) -> Any:
    """``action()``, timed; the widget's displays rendered as a kernel would, nothing printed."""
    import IPython.display

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), mock.patch.object(IPython.display, "display", render):
        result = action()
    seconds = time.perf_counter() - start
    print(f"{what:<58} {seconds:7.2f} s", flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--cache-dir", default="", help="the workspace's cache folder (default: the repository's)")
    parser.add_argument("--keep", action="store_true", help="keep the output cache (default: empty it first)")
    parser.add_argument("--memory-only", action="store_true", help="no output cache on disk (as before it existed)")
    args = parser.parse_args(argv)

    ws = Workspace.create(args.profile, cache_dir=args.cache_dir or None, progress=False)
    comp = Comparisons(ws)
    start = time.perf_counter()
    compare_ui.build_methods(comp)
    print(f"methods of Tables 7-10 built in {time.perf_counter() - start:.1f} s (not part of a redraw)")
    outputs = ws.cache / "compare" / ws.profile.name
    if outputs.exists() and not args.keep:
        shutil.rmtree(outputs)

    def new_ui():
        return compare_ui.build_ui(comp, output="sr_mid", prefetch=0, save_dir=ws.cache / "compare-png",
                                   output_cache=not args.memory_only)

    ui = timed("1. first view (ST-SR, first sample), empty cache", new_ui)
    first, second = ui.w_sample.options[:2]
    timed("2. next sample, not computed yet", lambda: setattr(ui.w_sample, "value", second))
    timed("3. back to the first sample (in memory)", lambda: setattr(ui.w_sample, "value", first))
    timed("4. output S-SR, not computed yet", lambda: setattr(ui.w_output, "value", "sr_t"))
    again = timed("5. a new session's first view (ST-SR, first sample)", new_ui)
    timed("6. a new session's change to the next sample", lambda: setattr(again.w_sample, "value", second))
    cascade = "BasicVSR -> RIFE (published)"
    if cascade in again.w_methods.options:
        timed(f"7. add {cascade}", lambda: setattr(again.w_methods, "value", (*again.w_methods.value, cascade)))
        print(f"   (its seconds on {second}: {again.seconds()[cascade]:.2f} s)")
    for w in (ui, again):
        if "error" in w.w_status.value.lower():
            sys.exit(f"the widget reported: {w.w_status.value}")


if __name__ == "__main__":
    main()
