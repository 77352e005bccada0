"""Render results CSVs into Markdown pages under docs/results/ (never typed by hand).

    python -m starlib report --profile cpu      # writes docs/results/cpu.md and docs/results/benchmarks.md

(``python -m starlib.study.report`` is an alias kept for old scripts.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from starlib.paper.objectives import OBJECTIVES
from starlib.study.tables.claims import claims_markdown
from starlib.study.tables.objective_rows import result_name
from starlib.util.atomic import atomic_write_text
from starlib.util.commands import alias_main
from starlib.util.damaged import read_results_csv
from starlib.util.paths import REPO_ROOT

BENCH_FILES = ("benchmarks.csv", "benchmarks_cuda.csv")   # results/, written by benchmarks/bench.py
#: ``results/<profile>/`` file of the notebooks' wall times, written by :func:`starlib.study.pipeline.record_times`.
TIMES_FILE = "notebook_times.csv"

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
    from starlib.study.tables.targets import tally, targets_markdown

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


#: Column prefix -> what the Provenance section adds to the file's name: the rows' own commit, and that of the
#: columns a later notebook adds to a file (notebook 15's ``trend_*`` in claims.csv).
_COMMIT_PREFIXES = {"": "", "trend_": " (`trend_*` columns)"}
_COMMIT_COLUMNS = {f"{p}{c}" for p in _COMMIT_PREFIXES for c in ("git_commit", "created_utc")}


def provenance_summary(results: Path) -> str:
    """Which clean commit produced which result files: one row per commit (the rows' ``git_commit``), with when
    its rows were written and the files holding them. Per-item files (``*_items.csv``) are counted with their
    table; the runs' own records (``runs/``) are not result rows. A file with rows from several commits (the
    notebook times, a table re-run in part) appears under each, and claims.csv's ``trend_*`` columns under the
    commit that computed them (``trend_git_commit``)."""
    by_commit: dict[str, dict] = {}
    for path in sorted(results.rglob("*.csv")):
        rel = path.relative_to(results)
        if "runs" in rel.parts[:-1] or path.name.endswith("_items.csv"):
            continue
        rows = read_results_csv(path, usecols=lambda c: c in _COMMIT_COLUMNS)   # damaged: says so
        for prefix, suffix in _COMMIT_PREFIXES.items():
            if f"{prefix}git_commit" not in rows.columns:
                continue
            label = f"`{rel.as_posix()}`{suffix}"
            present = rows[rows[f"{prefix}git_commit"].notna()]
            commits = present[f"{prefix}git_commit"].astype(str)
            for commit in commits.unique():
                entry = by_commit.setdefault(commit, {"files": [], "dates": set()})
                entry["files"].append(label)
                if f"{prefix}created_utc" in rows.columns:
                    entry["dates"] |= {str(t)[:10] for t in present.loc[commits == commit, f"{prefix}created_utc"]}
    if not by_commit:
        return "_No result rows yet for this profile._"
    lines = ["Every row names the commit it was produced at (`git_commit`; `-dirty` would mark a tree with changes "
             "other than results). Cite the commits of the rows you use.", "",
             "| commit | written (UTC) | files |", "| --- | --- | --- |"]
    order = sorted(by_commit, key=lambda c: (min(by_commit[c]["dates"] or {""}), c))
    for commit in order:
        entry = by_commit[commit]
        dates = sorted(entry["dates"])
        span = "" if not dates else dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
        lines.append(f"| `{commit}` | {span} | {', '.join(entry['files'])} |")
    return "\n".join(lines)


CITATION_FILE = REPO_ROOT / "CITATION.cff"


def _cff_field(text: str, key: str) -> str:
    import re

    m = re.search(rf"^{key}:\s*(.+?)\s*$", text, re.M)
    return m.group(1).strip("'\"") if m else ""


def citation_bibtex(results: Path, cff: Path = CITATION_FILE) -> str:
    """The repository's BibTeX entry for the results of one profile: version and URL from ``CITATION.cff``
    (``repository-code``, when set), the commit(s) recorded in the rows of the study's tables and claims."""
    text = cff.read_text() if cff.is_file() else ""
    commits, years = set(), set()
    for path in sorted(results.glob("table*.csv")) + [results / "claims.csv"]:
        if path.is_file() and "_items" not in path.name:
            rows = pd.read_csv(path, usecols=["git_commit", "created_utc"])
            commits |= set(rows["git_commit"].astype(str))
            years |= {str(t)[:4] for t in rows["created_utc"]}
    if not commits:
        return "_No tables yet for this profile: nothing to cite._"
    url = _cff_field(text, "repository-code")
    lines = ["```bibtex", "@software{starnet_repro,",
             "  title   = {starnet-repro: a reproducible study of {STARnet} (Space-Time-Aware Multi-Resolution "
             "Video Enhancement)},", "  author  = {{The starnet-repro contributors}},",
             f"  year    = {{{max(years)}}},",
             f"  version = {{{_cff_field(text, 'version') or 'unreleased'}}},",
             f"  note    = {{results of profile {results.name} at commit {', '.join(sorted(commits))}}},"]
    if url:
        lines.append(f"  url     = {{{url}}},")
    lines += ["  license = {MIT}", "}", "```"]
    where = "" if url else ("\n\n(No `repository-code` in `CITATION.cff` yet: add the repository's URL there and "
                            "the entry gains a `url` field.)")
    return "\n".join(lines) + where


#: Where the rendered pages go: one per profile (``<profile>.md``) and one for the benchmarks.
DOCS_RESULTS = REPO_ROOT / "docs" / "results"
BENCH_PAGE = "benchmarks.md"
#: The sections of a profile's page: (heading, renderer of ``results/<profile>/``), in this order. The README
#: and docs link to them by the headings' anchors (tests/test_docs.py checks the links).
PROFILE_SECTIONS = (("Training results", training_table), ("Claims", claims_summary), ("Targets", targets_summary),
                    ("Gain by floor level", levels_summary), ("Small-budget adaptations", adaptations_summary),
                    ("Provenance", provenance_summary), ("How to cite", citation_bibtex))
GENERATED = "Generated by `python -m starlib report --profile {profile}` from the CSVs; do not edit by hand."


def profile_page(profile: str, results_root: Path = REPO_ROOT / "results") -> str:
    """The Markdown page of one profile: its notebook times, then each of :data:`PROFILE_SECTIONS`."""
    results = results_root / profile
    parts = [f"# Results of the `{profile}` profile", "", GENERATED.format(profile=profile), "",
             "## Notebook times", "", times_summary(results_root, (profile,))]
    for heading, render in PROFILE_SECTIONS:
        parts += ["", f"## {heading}", "", render(results)]
    return "\n".join(parts) + "\n"


def benchmarks_page(results_root: Path = REPO_ROOT / "results") -> str:
    return "\n".join(["# Benchmarks", "", GENERATED.format(profile="<any>") + " The prose is in "
                      "[../performance.md](../performance.md).", "", benchmarks_summary(results_root)]) + "\n"


def write_pages(profile: str, docs_dir: Path = DOCS_RESULTS, results_root: Path = REPO_ROOT / "results") -> list[Path]:
    """Write ``docs_dir/<profile>.md`` and ``docs_dir/benchmarks.md`` (atomically); returns their paths."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    pages = [(docs_dir / f"{profile}.md", profile_page(profile, results_root)),
             (docs_dir / BENCH_PAGE, benchmarks_page(results_root))]
    for path, text in pages:
        atomic_write_text(path, text)
    return [path for path, _ in pages]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m starlib report``."""
    parser.add_argument("--profile", default="cpu", help="whose results/<profile>/ to render (default: cpu)")


def run(args: argparse.Namespace) -> int:
    """Write the profile's page and the benchmarks page; print their paths."""
    for path in write_pages(args.profile):
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m starlib.study.report``: an alias of ``python -m starlib report`` (same options)."""
    return alias_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
