"""Render results CSVs into Markdown for the README (never typed by hand).

    python -m starlib.report --profile cpu      # rewrites the block between the README's results markers
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from starlib.provenance import REPO_ROOT, atomic_write_text

START, END = "<!-- results:start -->", "<!-- results:end -->"
MODELS = (("star", "STAR"), ("star_st", "STAR-ST"), ("star_s", "STAR-S"), ("star_t_hr", "STAR-T_HR"),
          ("star_t_lr", "STAR-T_LR"))


def _fmt(x: float, digits: int = 3) -> str:
    return "" if pd.isna(x) else f"{x:.{digits}f}"


def training_table(results: Path) -> str:
    """One row per (model, dataset, output): PSNR and SSIM, the gain over bicubic + averaging with its
    95% interval, the paper's value where reported, and the training wall time."""
    lines = ["| model | data | output | PSNR | SSIM | PSNR gain vs bicubic+avg [95% CI] | paper PSNR | n | train time |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    commits = set()
    for stem, label in MODELS:
        path = results / f"{stem}_summary.csv"
        if not path.is_file():
            continue
        s = pd.read_csv(path)
        commits |= set(s["git_commit"])
        for (dataset, output), g in s.groupby(["dataset", "output"], sort=False):
            psnr = g[g.metric == "psnr"].iloc[0]
            ssim = g[g.metric == "ssim"].iloc[0]
            gain = f"{psnr.gain_vs_baseline:+.3f} [{psnr.gain_ci95_low:+.3f}, {psnr.gain_ci95_high:+.3f}]"
            lines.append(f"| {label} | {dataset} | {output} | {_fmt(psnr['mean'])} | {_fmt(ssim['mean'])} | {gain} | "
                         f"{_fmt(psnr.paper_reported)} | {int(psnr.n)} | {psnr.train_wall_time_s / 60:.1f} min |")
    if len(lines) == 2:
        return "_No training results yet for this profile._"
    return "\n".join(lines) + f"\n\nFrom `results/<profile>/*_summary.csv`, commit(s) {', '.join(sorted(commits))}."


def update_readme(profile: str, readme: Path = REPO_ROOT / "README.md") -> None:
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} ... {END} block")
    body = f"Profile `{profile}`:\n\n" + training_table(REPO_ROOT / "results" / profile)
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(readme, f"{head}{START}\n{body}\n{END}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu")
    args = parser.parse_args()
    update_readme(args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
