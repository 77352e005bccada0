"""Redraw the committed figures whose inputs are committed CSVs, with the current figure code.

    python tools/redraw_figures.py --profile cpu

Draws `figures/<profile>/claims.png` from `results/<profile>/claims.csv` (as notebook 12 does) and each
`<name>_gain_by_item.png` from `results/<profile>/<name>.csv` (as notebook 02 does). Figures that need
trained runs or test images (Fig. 5, 2, 6, 7, the examples) are left to the notebooks. Refuses to run on a
tree with uncommitted code (the stamp names the commit that drew the figure and the commit of the rows), and
checks each figure's text layout before writing it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from starlib.paper.objectives import OBJECTIVES, objective  # noqa: E402
from starlib.paper.outputs import INTERPOLATED  # noqa: E402
from starlib.study.tables.claims import claims_figure  # noqa: E402
from starlib.study.tables.figures import gain_by_item, stamp, text_layout_problems  # noqa: E402
from starlib.study.tables.floors import FLOOR  # noqa: E402
from starlib.study.tables.objective_rows import result_name  # noqa: E402
from starlib.util.paths import REPO_ROOT  # noqa: E402
from starlib.util.provenance import git_commit  # noqa: E402


def _commits(frame: pd.DataFrame) -> str:
    return ",".join(sorted(set(frame["git_commit"].astype(str))))


def figures_from_csvs(profile: str, results: Path) -> dict[str, plt.Figure]:
    """{file name: figure} of every figure of ``profile`` drawable from its committed CSVs."""
    drawn, here = {}, git_commit()
    claims_csv = results / "claims.csv"
    if claims_csv.is_file():
        claims = pd.read_csv(claims_csv)
        fig = claims_figure(claims, f"Paper claims at profile {profile}, by effect size")
        stamp(fig, f"profile={profile} rows={_commits(claims)} drawn={here} (tools/redraw_figures.py)")
        drawn["claims.png"] = fig
    for label in OBJECTIVES:
        record, name = objective(label), result_name(label)
        between = [o for o in record.scored if o in INTERPOLATED]
        path = results / f"{name}.csv"
        if not between or not path.is_file():
            continue
        rows = pd.read_csv(path)
        ours, floor = rows[rows.method == record.name], rows[rows.method == FLOOR]
        fig = gain_by_item(ours, floor, between, f"{record.name} ({profile} profile): per-item PSNR gain over "
                                                 f"{FLOOR.lower()}")
        stamp(fig, f"profile={profile} rows={_commits(rows)} drawn={here} (tools/redraw_figures.py)")
        drawn[f"{name}_gain_by_item.png"] = fig
    return drawn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--out", type=Path, default=None, help="folder to write to (default: figures/<profile>)")
    parser.add_argument("--allow-dirty", action="store_true", help="draw from a tree with uncommitted code "
                        "(for tests; never for committed figures)")
    args = parser.parse_args(argv)
    if git_commit().endswith("-dirty") and not args.allow_dirty:
        print("error: uncommitted code changes: commit first, so the figures name the code that drew them",
              file=sys.stderr)
        return 2
    out = args.out or REPO_ROOT / "figures" / args.profile
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in figures_from_csvs(args.profile, REPO_ROOT / "results" / args.profile).items():
        problems = text_layout_problems(fig)
        if problems:
            print(f"error: {name}: {problems}", file=sys.stderr)
            return 1
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
