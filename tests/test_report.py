"""Result tables are rendered from the CSVs into docs/results/<profile>.md (never typed by hand)."""

import pandas as pd
import pytest

from starlib.study.report import report
from starlib.util.damaged import DamagedFileError


def test_training_table_renders_rows_from_summaries(tmp_path):
    rows = []
    for metric, mean in (("psnr", 27.5), ("ssim", 0.89)):
        rows.append({"method": "STAR-S", "dataset": "ucf101", "output": "sr_t", "metric": metric, "mean": mean,
                     "delta_vs_reference": 0.2, "delta_ci95_low": 0.1, "delta_ci95_high": 0.3,
                     "paper_reported": 31.604 if metric == "psnr" else 0.943, "n": 285,
                     "info_train_wall_time_s": 600.0, "git_commit": "abc123"})
        rows.append({"method": "bicubic + frame averaging", "dataset": "ucf101", "output": "sr_t", "metric": metric,
                     "mean": mean - 0.2, "n": 285, "git_commit": "abc123"})
    pd.DataFrame(rows).to_csv(tmp_path / "star_s_summary.csv", index=False)
    table = report.training_table(tmp_path)
    assert "| STAR-S | ucf101 | sr_t | 27.500 | 0.890 | +0.200 [+0.100, +0.300] | 31.604 | 285 | 10.0 min |" in table
    assert "abc123" in table
    assert "No training results" in report.training_table(tmp_path / "empty")


def test_pages_are_written_under_docs_results_not_the_readme(tmp_path):
    (tmp_path / "results" / "cpu").mkdir(parents=True)
    pages = report.write_pages("cpu", tmp_path / "docs" / "results", tmp_path / "results")
    assert [p.name for p in pages] == ["cpu.md", "benchmarks.md"]
    text = pages[0].read_text()
    assert text.startswith("# Results of the `cpu` profile") and "do not edit by hand" in text
    for heading in ("Notebook times", "Training results", "Claims", "Targets", "Gain by floor level",
                    "Small-budget adaptations", "Provenance", "How to cite"):
        assert f"\n## {heading}\n" in text
    assert "No training results" in text and "No benchmark results" in pages[1].read_text()
    assert "nothing to cite" in text


def test_the_bibtex_entry_names_the_commit_of_the_rows_and_the_url_of_citation_cff(tmp_path):
    pd.DataFrame({"git_commit": ["abc123def456"] * 2, "created_utc": ["2031-01-02T00:00:00Z"] * 2}).to_csv(
        tmp_path / "table1.csv", index=False)
    cff = tmp_path / "CITATION.cff"
    cff.write_text("cff-version: 1.2.0\nversion: 0.2.0\nrepository-code: \"https://example.org/starnet-repro\"\n")
    entry = report.citation_bibtex(tmp_path, cff)
    assert "commit abc123def456" in entry and "url     = {https://example.org/starnet-repro}" in entry
    assert "version = {0.2.0}" in entry and "year    = {2031}" in entry
    cff.write_text("version: 0.2.0\n")
    assert "url " not in report.citation_bibtex(tmp_path, cff)


def test_provenance_lists_each_file_under_the_commits_of_its_rows(tmp_path):
    def write(rel, commits, day):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"x": range(len(commits)), "git_commit": commits,
                      "created_utc": [f"2031-01-{day:02d}T10:00:00Z"] * len(commits)}).to_csv(path, index=False)

    write("table1.csv", ["aaa111"] * 2, 2)
    write("table1_items.csv", ["zzz999"], 2)                  # per-item rows go with their table
    write("notebook_times.csv", ["aaa111", "bbb222"], 3)       # rows from two commits: listed under both
    write("scaling/k2/table7.csv", ["bbb222"], 4)
    write("scaling/k2/runs/STAR-1/log.csv", ["zzz999"], 4)     # a run's own record, not result rows
    (tmp_path / "no_provenance.csv").write_text("a,b\n1,2\n")
    pd.DataFrame({"claim": ["T2-st", "T1-fr"], "git_commit": "aaa111", "created_utc": "2031-01-02T10:00:00Z",
                  "trend_git_commit": ["ccc333", None],     # trend columns added later by another notebook
                  "trend_created_utc": ["2031-01-05T10:00:00Z", None]}).to_csv(tmp_path / "claims.csv", index=False)
    text = report.provenance_summary(tmp_path)
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")}
    assert set(rows) == {"`aaa111`", "`bbb222`", "`ccc333`"}
    assert "`claims.csv`," in rows["`aaa111`"] and "`claims.csv` (`trend_*` columns)" in rows["`ccc333`"]
    assert "2031-01-05 |" in rows["`ccc333`"] and "nan" not in text
    assert "`table1.csv`" in rows["`aaa111`"] and "`notebook_times.csv`" in rows["`aaa111`"]
    assert "`notebook_times.csv`" in rows["`bbb222`"] and "`scaling/k2/table7.csv`" in rows["`bbb222`"]
    assert "2031-01-03 to 2031-01-04" in rows["`bbb222`"] and "zzz999" not in text
    assert "No result rows" in report.provenance_summary(tmp_path / "empty")
    (tmp_path / "scaling" / "k2" / "table2.csv").write_bytes(b'git_commit,created_utc\n"abc\n')   # cut mid-field
    with pytest.raises(DamagedFileError, match="table2.csv"):
        report.provenance_summary(tmp_path)


def test_committed_pages_are_what_the_report_renders():
    """docs/results/ holds exactly what the report renders from the committed CSVs (regenerate, never edit)."""
    from starlib.util.paths import REPO_ROOT

    docs = REPO_ROOT / "docs" / "results"
    for page in sorted(docs.glob("*.md")):
        expected = (report.benchmarks_page() if page.name == report.BENCH_PAGE else report.profile_page(page.stem))
        assert page.read_text() == expected, f"{page} is stale: run python -m starlib report --profile {page.stem}"


def test_benchmarks_summary_shows_ratios_not_times(tmp_path):
    rows = [{"measurement": "forward_output_fps", "config": "cpu widths", "value": 12.345, "unit": "output frames/s",
             "ratio": 1.0, "ratio_of": "cpu widths"},
            {"measurement": "forward_output_fps", "config": "paper widths", "value": 0.4321, "unit": "output frames/s",
             "ratio": 0.035, "ratio_of": "cpu widths"},
            {"measurement": "forward_peak_rss_mib", "config": "paper widths", "value": 2345.6, "unit": "MiB",
             "ratio": 3.2, "ratio_of": "cpu widths"},
            {"measurement": "clip_max_abs_diff", "config": "pipeline", "value": 1, "unit": "uint8 levels",
             "ratio": float("nan"), "ratio_of": ""}]
    frame = pd.DataFrame(rows).assign(machine="Some CPU", torch_threads=2, profile="cpu", git_commit="abc123")
    frame.to_csv(tmp_path / "benchmarks.csv", index=False)
    text = report.benchmarks_summary(tmp_path)
    assert "| forward_output_fps | paper widths | 0.035 | cpu widths |  |" in text
    assert "2,346 MiB" in text and "1 uint8 levels" in text and "Some CPU" in text and "abc123" in text
    assert "12.345" not in text and "0.4321" not in text          # absolute speeds stay in the CSV
    assert "No benchmark results" in report.benchmarks_summary(tmp_path / "none")
    assert "Incomplete" not in text
    frame.assign(complete=False).to_csv(tmp_path / "benchmarks.csv", index=False)   # a bench cut off mid-run
    assert "Incomplete: the run was cut off" in report.benchmarks_summary(tmp_path)


def test_git_commit_names_the_checkout_unless_told_otherwise(monkeypatch, tmp_path):
    from starlib.util.provenance import git_commit

    monkeypatch.delenv("STARLIB_GIT_COMMIT", raising=False)
    here = git_commit()
    assert here != "unknown" and len(here.split("-")[0]) == 12
    assert git_commit(tmp_path) == "unknown"                      # not a git checkout
    monkeypatch.setenv("STARLIB_GIT_COMMIT", "0123456789ab")      # a copy run on another machine
    assert git_commit() == git_commit(tmp_path) == "0123456789ab"


def test_notebook_times_are_recorded_merged_and_rendered(tmp_path):
    from starlib.study.pipeline import record_times

    record_times({"00_networks.ipynb": 9.5, "01_data.ipynb": 70.0}, tmp_path, "smoke")
    record_times({"01_data.ipynb": 65.0}, tmp_path, "smoke")           # a rerun replaces its own row only
    frame = pd.read_csv(tmp_path / "smoke" / "notebook_times.csv")
    assert dict(zip(frame.notebook, frame.seconds)) == {"00_networks.ipynb": 9.5, "01_data.ipynb": 65.0}
    assert {"git_commit", "device", "profile"} <= set(frame.columns)
    text = report.times_summary(tmp_path)
    assert "| 01_data.ipynb | 1.1 min |" in text and "| **all** | **1.2 min** |" in text and "`smoke`" in text
    assert "No notebook times" in report.times_summary(tmp_path / "none")


def test_targets_levels_and_adaptations_render_from_their_csvs(tmp_path):
    pd.DataFrame([{"target": "t", "text": "STAR-S above RBPN", "goal": False, "output": "sr_t", "better": "a",
                   "worse": "b", "kind": "above", "bound": 0.05, "dataset": "ucf101", "n": 285, "difference": 0.3,
                   "ci95_low": 0.2, "ci95_high": 0.4, "status": "met", "reason": "", "git_commit": "c1"}]
                 ).to_csv(tmp_path / "targets.csv", index=False)
    pd.DataFrame([{"dataset": "ucf101", "output": "lr_mid", "level": ">= 45", "level_low": 45.0, "level_high": float("inf"),
                   "n": 58, "share": 0.2, "reference_mean": 49.43, "method_mean": 42.08, "gain": -7.35,
                   "gain_ci95_low": -8.46, "gain_ci95_high": -6.25, "git_commit": "c2"}]
                 ).to_csv(tmp_path / "star_t_lr_by_floor_level.csv", index=False)
    pd.DataFrame([{"stage": "(c) network without FR", "variant": "mid_base = average", "output": "sr_mid",
                   "metric": "psnr", "value": 24.0, "baseline": 23.7, "gain_vs_baseline": 0.3,
                   "baseline_method": "bicubic + frame averaging", "run": "STAR-x", "data": "validation: 4",
                   "git_commit": "c3"}]).to_csv(tmp_path / "adaptations.csv", index=False)
    targets = report.targets_summary(tmp_path)
    assert targets.startswith("1 met, 0 not met, 0 undefined, 0 not run") and "| STAR-S above RBPN | ucf101 | +0.300 [+0.200, +0.400] | > +0.05 | met |" in targets
    levels = report.levels_summary(tmp_path)
    assert "| STAR-T_LR | ucf101 | lr_mid | >= 45 dB | 58 (20%) | 49.43 | 42.08 | -7.35 [-8.46, -6.25] |" in levels
    adapt = report.adaptations_summary(tmp_path)
    assert "| (c) network without FR | mid_base = average | sr_mid | 24.00 | 23.70 (bicubic + frame averaging) | +0.3 dB | `STAR-x` |" in adapt
    for render in (report.targets_summary, report.levels_summary, report.adaptations_summary):
        assert render(tmp_path / "empty").startswith("_")


def test_a_partial_run_keeps_the_other_notebooks_rows_and_their_provenance(tmp_path, monkeypatch):
    from starlib.study.pipeline import record_times

    monkeypatch.setenv("STARLIB_GIT_COMMIT", "aaaaaaaaaaaa")
    record_times({"00_networks.ipynb": 9.5, "07_table1.ipynb": 6000.0}, tmp_path, "cpu")
    before = pd.read_csv(tmp_path / "cpu" / "notebook_times.csv").set_index("notebook")
    monkeypatch.setenv("STARLIB_GIT_COMMIT", "bbbbbbbbbbbb")
    record_times({"13_compare.ipynb": 30.0}, tmp_path, "cpu")
    after = pd.read_csv(tmp_path / "cpu" / "notebook_times.csv").set_index("notebook")
    pd.testing.assert_frame_equal(after.loc[before.index], before)       # untouched, wall_time_s included
    new = after.loc["13_compare.ipynb"]
    assert new.git_commit == "bbbbbbbbbbbb" and new.wall_time_s == 30.0 and new.n_items == 1
    assert before.loc["07_table1.ipynb", "wall_time_s"] == 6009.5
