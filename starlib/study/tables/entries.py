"""The one train-and-score path: a table is a list of :class:`Entry` (a method's per-item scores, or why it
was not run), and :func:`table_rows` summarises one. Nothing here writes files except :func:`write_entries`,
which the notebooks call.

For each (method, dataset, output, metric) :func:`table_rows` gives our mean and 95% interval over test items
(``n`` items with a value, ``n_missing`` items the metric could not be computed on, e.g. NIQE of a flat frame),
the paired difference to the table's reference row with its interval, the paper's reported value for the
matching paper row (on the same data set where the paper has it, else on the data set it used, named in
``paper_dataset``), the paper's own difference to its reference row, and ``ours - paper`` (only when the data
sets match: differences across data sets mean nothing).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from starlib.data.sources import Window
from starlib.evaluation.methods import Method
from starlib.evaluation.score_cache import KEYS
from starlib.evaluation.stats import paired_difference, summarize
from starlib.infer.runner import STARMethod
from starlib.models.star import count_parameters
from starlib.paper.reference import paper_results
from starlib.study.trainings.plans import describe, plan
from starlib.study.trainings.recipes import Training
from starlib.study.trainings.released import released_run
from starlib.study.trainings.training_runs import train_plan
from starlib.study.setup.workspace import Workspace
from starlib.train import RunResult
from starlib.util.provenance import Cell, write_results_csv

#: What a table row records about the method behind it (its ``info_*`` columns): parameters, run folder,
#: training time and steps, where released weights came from.
RowInfo = dict[str, str | int | float]

Benchmarks = Mapping[str, Sequence[Window]]


@dataclass
class Entry:
    """One row group of a table: a method and its per-item scores (``None`` when not run)."""

    label: str
    per_item: pd.DataFrame | None
    paper_method: str | None = None     # the paper's row this one corresponds to (same table)
    note: str = ""                      # e.g. "flow interpolation stands in for DAIN"
    status: str = "run"                 # "run", "not run: <reason>" or "reported by the paper"
    outputs: tuple[str, ...] = ()       # for rows not run: the outputs the paper reports
    info: RowInfo = field(default_factory=dict)   # parameters, run folder, training time
    method: Method | None = None        # the method itself (figures, the interactive comparison)
    run: RunResult | None = None        # the training run of a trained entry (its model, log, folder)
    paper_rows: Mapping[str, tuple[int, str]] = field(default_factory=dict)  # output -> (paper table, row),
                                        # for entries whose paper values come from other tables
    key: str = ""                       # the method's score-cache key (names it exactly; "" when not run)


def reported_entry(label: str, outputs: tuple[str, ...], status: str = "reported by the paper",
                   note: str = "") -> Entry:
    """A row of the paper (``label`` is its paper name) that we do not run: its numbers appear in the *paper*
    columns only; ``status`` says why (the paper's own method, or "not run: <reason>")."""
    return Entry(label, None, label, note=note, status=status, outputs=outputs)


def _scored(ws: Workspace, label: str, method: Method, key: str, benchmarks: Benchmarks,
            outputs: Sequence[str], niqe: bool) -> pd.DataFrame:
    frames = [ws.scores.scores(method, key, windows, dataset, outputs, niqe=niqe, scale=ws.profile.scale,
                               progress=ws.progress, desc=f"{label} {dataset}")
              for dataset, windows in benchmarks.items() if windows]
    return pd.concat(frames, ignore_index=True)


def method_entry(ws: Workspace, label: str, method: Method, key: str, benchmarks: Benchmarks,
                 outputs: Sequence[str], *, niqe: bool = False, paper_method: str | None = None,
                 note: str = "") -> Entry:
    """A table entry for a method that needs no training (baselines, cascades of trained parts); ``key`` names
    the method exactly in the score cache."""
    return Entry(label, _scored(ws, label, method, key, benchmarks, outputs, niqe), paper_method, note,
                 method=method, key=key)


def run_key(run: RunResult, inputs: str, tile: int, suffix: str = "") -> str:
    """The score-cache key of a trained network run with ``inputs`` and ``tile`` (``suffix``: a wrapper)."""
    return f"{run.run_dir.name}-{inputs}-tile{tile}{suffix}"


def run_info(run: RunResult) -> RowInfo:
    """What a table row records about the network behind it."""
    steps = int(run.log[-1]["step"]) if run.log else 0
    return {"parameters": count_parameters(run.model), "run": run.run_dir.name,
            "train_wall_time_s": round(run.wall_time_s, 1), "train_steps": steps}


def trained_entry(ws: Workspace, label: str, what: Training, benchmarks: Benchmarks, outputs: Sequence[str], *,
                  niqe: bool = False, paper_method: str | None = None, note: str = "", inputs: str | None = None,
                  wrap: Callable[[Method], Method] | None = None,
                  paper_rows: Mapping[str, tuple[int, str]] | None = None, released: bool = False) -> Entry:
    """Train (or reuse) ``what``, score it on ``benchmarks`` and return the entry (with its method).

    ``inputs`` defaults to the objective's (``"hr"``: HR frames in, T-SR at the original resolution; an
    LR-trained model can be scored on HR inputs too). ``wrap`` turns the method into another one (e.g.
    :class:`starlib.evaluation.cascades.LRFramesAsInput`); its ``key_suffix`` names it in the score cache.
    ``released``: the row scores the objective's own network, so the authors' file the profile names under
    ``[released]`` for ``what.objective`` stands in for the training when there is one
    (:mod:`starlib.study.trainings.released`; the row's note and ``setup`` then say so)."""
    authors = released_run(ws, what.objective) if released else None
    planned = plan(ws, what) if authors is None else None      # computed once: the run and its setup
    run = authors.run if authors else train_plan(ws, planned)
    inputs = inputs or what.record.inputs
    tile = ws.profile.eval.tile(inputs)
    method: Method = STARMethod(run.model, ws.flows, inputs=inputs, tile=tile, device=ws.device)
    suffix = ""
    if wrap is not None:
        method = wrap(method)
        suffix = getattr(method, "key_suffix", "")
    key = run_key(run, inputs, tile, suffix)
    info = {**run_info(run), "setup": describe(ws, planned)} if authors is None else \
        {**run_info(run), "setup": authors.setup, **authors.info}
    return Entry(label, _scored(ws, label, method, key, benchmarks, outputs, niqe), paper_method,
                 note if authors is None else authors.note, info=info, method=method, run=run,
                 paper_rows=dict(paper_rows or {}), key=key)


# --- summaries ------------------------------------------------------------------------------------------

def _paper_value(paper: pd.DataFrame, table: int | None, method: str | None, dataset: str, output: str,
                 metric: str) -> tuple[float, str]:
    if not method or table is None:
        return np.nan, ""
    metric = {"ie_starnet": "ie"}.get(metric, metric)
    hit = paper[(paper.table == table) & (paper.method == method) & (paper.output == output) & (paper.metric == metric)]
    if hit.empty:
        return np.nan, ""
    same = hit[hit.dataset == dataset]
    row = same.iloc[0] if len(same) else hit.iloc[0]
    return float(row.value), str(row.dataset)


def _paper_row(e: Entry, table: int | None, output: str) -> tuple[int | None, str | None]:
    return e.paper_rows.get(output, (table, e.paper_method))


SUMMARY_COLUMNS = ["table", "method", "dataset", "output", "metric", "mean", "ci95_low", "ci95_high", "n",
                   "n_missing", "reference_method", "delta_vs_reference", "delta_ci95_low", "delta_ci95_high",
                   "n_paired", "paper_method", "paper_dataset", "paper_reported", "paper_delta_vs_reference",
                   "ours_minus_paper", "status", "note"]


def table_rows(table: int | None, entries: Sequence[Entry], reference: str | None = None) -> pd.DataFrame:
    """Summary rows of one table (see the module docstring); ``reference`` is the label of the row that
    differences are taken against (paired over the items both rows scored). ``table`` is the paper's table
    the rows are compared with (None: only entries' own ``paper_rows``)."""
    paper = paper_results()
    labels = [e.label for e in entries]
    if reference is not None and reference not in labels:
        raise ValueError(f"reference row {reference!r} is not among the table's rows {labels}")
    ref = next((e for e in entries if e.label == reference), None)
    rows = []
    for e in entries:
        base = {"table": table, "method": e.label, "paper_method": e.paper_method or "", "status": e.status,
                "note": e.note, **{f"info_{k}": v for k, v in e.info.items()}}
        if e.per_item is None:      # not run here: one row per data set the paper reports it on
            hits = paper[(paper.table == table) & (paper.method == (e.paper_method or ""))]
            for output in e.outputs:
                for pdata in (sorted(set(hits[hits.output == output].dataset)) or [""]):
                    for metric in ("psnr", "ssim"):
                        value, _ = _paper_value(paper, table, e.paper_method, pdata, output, metric)
                        rows.append({**base, "dataset": "", "output": output, "metric": metric, "n": 0,
                                     "paper_reported": value, "paper_dataset": pdata})
            continue
        groups = dict(tuple(e.per_item.groupby(["dataset", "output"], sort=False)))
        for s in summarize(e.per_item).to_dict("records"):     # mean, CI, n and n_missing per metric
            dataset, output, metric = s["dataset"], s["output"], s["metric"]
            ptable, pmethod = _paper_row(e, table, output)
            row = {**base, **s, "paper_method": pmethod or ""}
            if ref is not None and ref.per_item is not None and e is not ref:
                r = ref.per_item[(ref.per_item.dataset == dataset) & (ref.per_item.output == output)]
                if metric in r.columns:
                    d, dlo, dhi, n = paired_difference(groups[(dataset, output)], r, metric)
                    if n:
                        row.update(reference_method=ref.label, delta_vs_reference=d, delta_ci95_low=dlo,
                                   delta_ci95_high=dhi, n_paired=n)
            value, pdata = _paper_value(paper, ptable, pmethod, dataset, output, metric)
            row.update(paper_reported=value, paper_dataset=pdata,
                       ours_minus_paper=s["mean"] - value if pdata == dataset else np.nan)
            if ref is not None and e is not ref and ref.paper_method:
                ref_value, ref_data = _paper_value(paper, ptable, ref.paper_method, dataset, output, metric)
                if ref_data == pdata:
                    row["paper_delta_vs_reference"] = value - ref_value
            rows.append(row)
    frame = pd.DataFrame(rows)
    for c in SUMMARY_COLUMNS:
        if c not in frame.columns:
            frame[c] = np.nan
    return frame[SUMMARY_COLUMNS + [c for c in frame.columns if c not in SUMMARY_COLUMNS]]


def per_item_scores(entries: Sequence[Entry]) -> pd.DataFrame:
    """Every per-item score of the entries that ran, with a leading ``method`` column."""
    items = [e.per_item.assign(method=e.label) for e in entries if e.per_item is not None]
    per_item = pd.concat(items, ignore_index=True) if items else pd.DataFrame(columns=["method"] + KEYS)
    return per_item[["method"] + [c for c in per_item.columns if c != "method"]]


def data_description(entries: Sequence[Entry]) -> str:
    """What a table's rows rest on, for provenance: the test sets scored and the training runs used."""
    scored = sorted({d for e in entries if e.per_item is not None for d in e.per_item["dataset"].unique()})
    runs = [e.info["run"] for e in entries if e.info.get("run")]
    return f"test: {'+'.join(scored) or 'none'}" + (f"; runs: {', '.join(runs)}" if runs else "")


def write_entries(entries: Sequence[Entry], summary: pd.DataFrame, items_path: Path, summary_path: Path,
                  prov: dict[str, Cell]) -> None:
    """Write the per-item scores and the summary rows, both with provenance (``n_items`` counted here)."""
    per_item = per_item_scores(entries)
    n_items = int(per_item.groupby("dataset")["item"].nunique().sum()) if len(per_item) else 0
    prov = {**prov, "n_items": n_items}
    write_results_csv(per_item.to_dict("records"), items_path, prov)
    write_results_csv(summary.to_dict("records"), summary_path, prov)


def write_table(ws: Workspace, table: int, entries: Sequence[Entry], prov: dict[str, Cell],
                reference: str | None = None) -> pd.DataFrame:
    """Write ``table<N>.csv`` (summary rows) and ``table<N>_items.csv`` (per-item scores, for the claims) to
    the workspace's results; returns the summary."""
    summary = table_rows(table, entries, reference)
    write_entries(entries, summary, ws.results_file(f"table{table}_items.csv"), ws.results_file(f"table{table}.csv"),
                  prov)
    return summary


class Stopwatch:
    """Wall time since construction, for provenance."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start


def view(summary: pd.DataFrame, metrics: Sequence[str] = ("psnr", "ssim")) -> pd.DataFrame:
    """A compact view of a table's summary for notebooks: one line per (method, dataset, output, metric)."""
    cols = ["method", "dataset", "output", "metric", "mean", "ci95_low", "ci95_high", "n", "delta_vs_reference",
            "delta_ci95_low", "delta_ci95_high", "paper_reported", "paper_dataset", "paper_delta_vs_reference",
            "status"]
    keep = summary[summary.metric.isin(metrics) | summary["mean"].isna()]
    return keep[cols].round(3)
