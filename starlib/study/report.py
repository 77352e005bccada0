"""Render results CSVs into Markdown for the README (never typed by hand).

    python -m starlib.study.report --profile cpu      # rewrites the block between the README's results markers
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from starlib.paper.objectives import OBJECTIVES
from starlib.study.claims import claims_markdown
from starlib.study.pipeline import TIMES_FILE
from starlib.study.training import result_name
from starlib.util.atomic import atomic_write_text
from starlib.util.paths import REPO_ROOT
from starlib.util.damaged import read_results_csv

START, END = "<!-- results:start -->", "<!-- results:end -->"
CLAIMS_START, CLAIMS_END = "<!-- claims:start -->", "<!-- claims:end -->"
BENCH_START, BENCH_END = "<!-- bench:start -->", "<!-- bench:end -->"
TIMES_START, TIMES_END = "<!-- times:start -->", "<!-- times:end -->"
TARGETS_START, TARGETS_END = "<!-- targets:start -->", "<!-- targets:end -->"
LEVELS_START, LEVELS_END = "<!-- levels:start -->", "<!-- levels:end -->"
ADAPT_START, ADAPT_END = "<!-- adaptations:start -->", "<!-- adaptations:end -->"
BENCH_FILES = ("benchmarks.csv", "benchmarks_cuda.csv")   # results/, written by benchmarks/bench.py

#: Column names of training summaries written before the study layer was rebuilt (still committed for `cpu`).
FORMAT1_SUMMARY = {"gain_vs_baseline": "delta_vs_reference", "gain_ci95_low": "delta_ci95_low",
                   "gain_ci95_high": "delta_ci95_high", "train_wall_time_s": "info_train_wall_time_s"}
#: How a claim's verdicts on several test sets are summarised: the first of these it has on any of them.
SUMMARY_ORDER = ("reproduced", "not reproduced", "inconclusive", "no effect at this scale",
                 "not testable at this scale", "not tested")


def _fmt(x: float, digits: int = 3) -> str:
    return "" if pd.isna(x) else f"{x:.{digits}f}"


def training_table(results: Path) -> str:
    """One row per (model, dataset, output): PSNR and SSIM, the gain over bicubic + averaging with its
    95% interval, the paper's value where reported, and the training wall time."""
    lines = ["| model | data | output | PSNR | SSIM | PSNR gain vs bicubic+avg [95% CI] | paper PSNR | n | train time |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    commits = set()
    for label in OBJECTIVES:
        path = results / f"{result_name(label)}_summary.csv"
        if not path.is_file():
            continue
        s = read_results_csv(path).rename(columns=FORMAT1_SUMMARY)
        commits |= set(s["git_commit"])
        ours = s[s.method.isin([label, result_name(label)])]
        for (dataset, output), g in ours.groupby(["dataset", "output"], sort=False):
            psnr = g[g.metric == "psnr"].iloc[0]
            ssim = g[g.metric == "ssim"].iloc[0]
            gain = f"{psnr.delta_vs_reference:+.3f} [{psnr.delta_ci95_low:+.3f}, {psnr.delta_ci95_high:+.3f}]"
            lines.append(f"| {label} | {dataset} | {output} | {_fmt(psnr['mean'])} | {_fmt(ssim['mean'])} | {gain} | "
                         f"{_fmt(psnr.paper_reported if psnr.get('paper_dataset', dataset) == dataset else float('nan'))} | {int(psnr.n)} | {psnr.info_train_wall_time_s / 60:.1f} min |")
    if len(lines) == 2:
        return "_No training results yet for this profile._"
    return "\n".join(lines) + f"\n\nFrom `results/<profile>/*_summary.csv`, commit(s) {', '.join(sorted(commits))}."


def claims_summary(results: Path) -> str:
    """Verdict counts and one line per claim from ``claims.csv`` (written by notebook 12)."""
    path = results / "claims.csv"
    if not path.is_file():
        return "_No claims evaluated yet for this profile (run notebooks 07-12)._"
    claims = read_results_csv(path, keep_default_na=True)
    claims["reason"] = claims["reason"].fillna("")
    counts = claims.groupby("claim")["verdict"].agg(lambda v: next(k for k in SUMMARY_ORDER if (v == k).any()))
    tally = counts.value_counts()
    head = (f"{len(counts)} claims: " + ", ".join(f"{int(tally.get(k, 0))} {k}" for k in SUMMARY_ORDER)
            + " (per claim, the first of these verdicts that it has on at least one test set).\n\n"
            f"From `results/{results.name}/claims.csv`, commit(s) {', '.join(sorted(set(claims['git_commit'])))}.\n\n")
    return head + claims_markdown(claims)


def targets_summary(results: Path) -> str:
    """The issue-12 targets from ``targets.csv`` (written by notebook 12), with the tally."""
    from starlib.study.targets import tally, targets_markdown

    path = results / "targets.csv"
    if not path.is_file():
        return "_No targets evaluated yet for this profile (notebook 12 writes them)._"
    t = read_results_csv(path, keep_default_na=True)
    t["reason"] = t["reason"].fillna("")
    t["dataset"] = t["dataset"].fillna("")
    counts = tally(t)
    head = (", ".join(f"{v} {k}" for k, v in counts.items()) + " (targets x test sets, goals apart). From "
            f"`results/{results.name}/targets.csv`, commit(s) {', '.join(sorted(set(t['git_commit'])))}.\n\n")
    return head + targets_markdown(t)


def levels_summary(results: Path) -> str:
    """Per objective and in-between output, the gain over bicubic + averaging by the floor's own PSNR on the
    item (``<name>_by_floor_level.csv``, written by notebook 02)."""
    lines = ["| model | data | output | floor PSNR on the item | items | floor | model | gain [95% CI] |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    commits = set()
    for label in OBJECTIVES:
        path = results / f"{result_name(label)}_by_floor_level.csv"
        if not path.is_file():
            continue
        t = read_results_csv(path)
        commits |= set(t["git_commit"])
        for r in t.itertuples():
            ci = f" [{r.gain_ci95_low:+.2f}, {r.gain_ci95_high:+.2f}]" if pd.notna(r.gain_ci95_low) else ""
            lines.append(f"| {label} | {r.dataset} | {r.output} | {r.level} dB | {r.n} ({r.share:.0%}) | "
                         f"{r.reference_mean:.2f} | {r.method_mean:.2f} | {r.gain:+.2f}{ci} |")
    if len(lines) == 2:
        return "_No per-level gains yet for this profile (notebook 02 writes them)._"
    return "\n".join(lines) + (f"\n\nFrom `results/{results.name}/*_by_floor_level.csv`, commit(s) "
                               f"{', '.join(sorted(commits))}.")


def adaptations_summary(results: Path) -> str:
    """Each small-budget adaptation switched off alone (``adaptations.csv``, ``benchmarks/adaptations.py``)."""
    path = results / "adaptations.csv"
    if not path.is_file():
        return "_Not measured yet for this profile: run `python benchmarks/adaptations.py --profile cpu`._"
    t = read_results_csv(path)
    lines = ["| stage | variant | output | value | baseline | gain over the baseline | run |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in t.itertuples():
        unit = " dB" if r.metric == "psnr" else f" ({r.metric})"
        fmt = (lambda v: f"{v:.2f}") if r.metric == "psnr" else (lambda v: f"{v:.3g}")
        lines.append(f"| {r.stage} | {r.variant} | {r.output} | {fmt(r.value)} | {fmt(r.baseline)} ({r.baseline_method}) | "
                     f"{r.gain_vs_baseline:+.3g}{unit} | `{r.run}` |")
    return "\n".join(lines) + (f"\n\nFrom `results/{results.name}/adaptations.csv` ({t['data'].iloc[0]}), commit(s) "
                               f"{', '.join(sorted(set(t['git_commit'])))}.")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def times_summary(results_root: Path, profiles: tuple[str, ...] = ("smoke", "cpu", "gpu", "paper")) -> str:
    """Measured wall time of each notebook per profile (``results/<profile>/notebook_times.csv``, written by
    the pipeline), with the total of a whole run and the machine and commit it was measured on."""
    parts = []
    for profile in profiles:
        path = results_root / profile / TIMES_FILE
        if not path.is_file():
            continue
        t = read_results_csv(path)
        lines = [f"`{profile}` (on {t['device'].iloc[0]}; commit(s) {', '.join(sorted(set(t['git_commit'])))}):", "",
                 "| notebook | wall time |", "| --- | --- |"]
        lines += [f"| {r.notebook} | {_minutes(r.seconds)} |" for r in t.itertuples()]
        lines.append(f"| **all** | **{_minutes(t['seconds'].sum())}** |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) or "_No notebook times recorded yet (the pipeline writes them)._"


def benchmarks_summary(results_root: Path) -> str:
    """The ratios of each ``results/benchmarks*.csv`` (absolute times stay in the CSV; memory is shown in MiB,
    since the claim about it is absolute), with the machine and commit they were measured on."""
    parts = []
    for name in BENCH_FILES:
        path = results_root / name
        if not path.is_file():
            continue
        b = read_results_csv(path)
        first = b.iloc[0]
        cut = ("" if "complete" not in b.columns or bool(b["complete"].all()) else
               " **Incomplete: the run was cut off after these rows.**")
        lines = [f"`results/{name}`: {first['machine']}, {int(first['torch_threads'])} torch threads, profile "
                 f"`{first['profile']}`, commit {first['git_commit']}.{cut}", "",
                 "| measurement | configuration | ratio | relative to | memory |", "| --- | --- | --- | --- | --- |"]
        for _, r in b.iterrows():
            mem = f"{r['value']:,.0f} MiB" if str(r["unit"]) == "MiB" else ""
            if str(r["measurement"]) == "clip_max_abs_diff":
                lines.append(f"| {r['measurement']} | {r['config']} | {r['value']:.0f} uint8 levels | the reference "
                             f"path's frames | |")
                continue
            ratio = "" if pd.isna(r["ratio"]) else f"{r['ratio']:.3g}"
            lines.append(f"| {r['measurement']} | {r['config']} | {ratio} | {r['ratio_of']} | {mem} |")
        parts.append("\n".join(lines))
    if not parts:
        return "_No benchmark results yet: run `make bench`._"
    return "\n\n".join(parts)


def _replace_block(text: str, start: str, end: str, body: str, readme: Path) -> str:
    if start not in text or end not in text:
        raise ValueError(f"{readme} has no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def update_readme(profile: str, readme: Path = REPO_ROOT / "README.md") -> None:
    text = readme.read_text()
    results = REPO_ROOT / "results" / profile
    text = _replace_block(text, START, END, f"Profile `{profile}`:\n\n" + training_table(results), readme)
    if CLAIMS_START in text:
        text = _replace_block(text, CLAIMS_START, CLAIMS_END, f"Profile `{profile}`:\n\n" + claims_summary(results),
                              readme)
    for start, end, body in ((TARGETS_START, TARGETS_END, targets_summary), (LEVELS_START, LEVELS_END, levels_summary),
                             (ADAPT_START, ADAPT_END, adaptations_summary)):
        if start in text:
            text = _replace_block(text, start, end, f"Profile `{profile}`:\n\n" + body(results), readme)
    if TIMES_START in text:
        text = _replace_block(text, TIMES_START, TIMES_END, times_summary(REPO_ROOT / "results"), readme)
    if BENCH_START in text:
        text = _replace_block(text, BENCH_START, BENCH_END, benchmarks_summary(REPO_ROOT / "results"), readme)
    atomic_write_text(readme, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu")
    args = parser.parse_args()
    update_readme(args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
