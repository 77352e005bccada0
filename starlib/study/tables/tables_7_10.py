"""Tables 7-10 of the paper: ST-SR, S-SR and T-SR against other methods, with the methods we can run.

Runnable here: bicubic, frame averaging, classical flow interpolation (:func:`starlib.evaluation.baselines.
flow_interpolate`, standing in for TOFlow / DAIN), DBPN, DBPN-MI and RBPN trained as Net_S alone under the same
data and number of steps as STAR + its finetune, both cascade orders, and every STAR variant. The paper's other
methods appear only as its reported numbers (rows marked ``reported by the paper``).

With ``[tables] published_rows = true`` the tables also carry networks trained elsewhere, run from their
authors' published weights (:mod:`starlib.evaluation.published`): BasicVSR (Table 8, and its cascades with RIFE
and flow interpolation in Table 7), RIFE v4.0 (Tables 9-10; RBPN -> RIFE in Table 7). They are reference
points labelled :data:`~starlib.evaluation.published.PUBLISHED_LABEL`; no claim names them.

With a file under the profile's ``[released]`` for an objective, the rows of that objective's network (STAR,
STAR-ST, STAR-S, STAR-T_LR, STAR-T_HR) score the authors' released weights instead of a network trained here
(:mod:`starlib.study.trainings.released`); the Net_S-alone rows and the cascades are trained as always.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from matplotlib.figure import Figure

from starlib.data import load_window
from starlib.data.sources import Window
from starlib.evaluation.baselines import FlowInterpolation, frame_average
from starlib.evaluation.cascades import LRFramesAsInput, SpaceThenTime, TimeThenSpace
from starlib.evaluation.methods import Method, ground_truth
from starlib.evaluation.published import (PUBLISHED_LABEL, BasicVSRMethod, BasicVSRWindow, RIFEInterpolator,
                                          RIFEMethod)
from starlib.infer.runner import STARMethod
from starlib.study.trainings.catalog import FI, T7, T8, T9, T10, Row, table_catalog
from starlib.study.tables.entries import Entry, method_entry, reported_entry, run_info, run_key, trained_entry
from starlib.study.tables.figures import error_grid
from starlib.study.tables.floors import floor_entry
from starlib.study.trainings.recipes import NET_S_ALONE, hr_input_benchmarks, net_s_steps, test_benchmarks
from starlib.study.trainings.training_runs import train_run
from starlib.study.setup.workspace import Workspace
from starlib.train import RunResult

FI_NOTE = "classical flow interpolation stands in for the paper's TOFlow / DAIN"


class PUBLISHED:
    """Row labels of the published networks (``[tables] published_rows``); never named by a claim."""
    BASICVSR, BASICVSR_WINDOW, RIFE = "BasicVSR (published)", "BasicVSR, whole window (published)", "RIFE (published)"
    BASICVSR_RIFE, RIFE_BASICVSR = "BasicVSR -> RIFE (published)", "RIFE -> BasicVSR (published)"
    BASICVSR_FI, RBPN_RIFE = f"BasicVSR -> {FI} (published)", "RBPN -> RIFE (published)"
    ALL = (BASICVSR, BASICVSR_WINDOW, RIFE, BASICVSR_RIFE, RIFE_BASICVSR, BASICVSR_FI, RBPN_RIFE)


#: Where the published rows' training data overlaps our test data: none of our benchmarks (UCF101, Middlebury,
#: Vid4) is in Vimeo90K; a Vimeo90K test clip (Table ZSM's Vimeo sets) is disjoint from Vimeo90K's training split.
PUBLISHED_OVERLAP = "Vimeo90K-trained; no overlap with UCF101 / Middlebury test items"


class Comparisons:
    """Builds the methods and table entries of Tables 7-10 under one workspace. ``methods[table]`` holds the
    methods of each table built so far (label -> method), for the figures and the interactive comparison."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.profile = ws.profile
        self.cache = ws.flows
        self.bench = test_benchmarks(ws.profile)
        self.scale = ws.profile.scale
        self.methods: dict[int, dict[str, Method]] = {}
        self.entries: dict[int, dict[str, Entry]] = {}   # the run entries of each table built (keys, runs)
        self._ssr: dict[str, tuple[STARMethod, RunResult]] = {}
        self._published_methods: dict[int, dict[str, tuple[Method, str]]] = {}

    # --- helpers -------------------------------------------------------------------------------------
    def _baseline(self, label: str, method: Method, key: str, bench: dict[str, list[Window]],
                  outputs: tuple[str, ...], niqe: bool = False, paper: str | None = None, note: str = "") -> Entry:
        return method_entry(self.ws, label, method, key, bench, outputs, niqe=niqe, paper_method=paper, note=note)

    def _trained(self, table: int, label: str, bench: dict[str, list[Window]], outputs: tuple[str, ...],
                 **kw: Any) -> Entry:
        """The entry of catalogued row ``label`` of ``table``, compared with its paper row."""
        row = self.rows[table][label]
        return trained_entry(self.ws, label, row.training, bench, outputs, released=True, paper_method=row.paper,
                             **kw)

    @cached_property
    def rows(self) -> dict[int, dict[str, Row]]:
        """The catalogued rows of Tables 7-10: table -> label -> row."""
        return {table: table_catalog(self.ws, table) for table in (7, 8, 9, 10)}

    def _published(self, label: str, method: Method, key: str, bench: dict[str, list[Window]],
                   outputs: tuple[str, ...], niqe: bool = False) -> Entry:
        e = self._baseline(label, method, key, bench, outputs, niqe=niqe,
                           note=f"{PUBLISHED_LABEL}; {PUBLISHED_OVERLAP}")
        e.info = {"weights": PUBLISHED_LABEL}
        return e

    @cached_property
    def published_parts(self) -> tuple[BasicVSRMethod, RIFEInterpolator]:
        """One BasicVSR and one RIFE for every published row (loaded on first use)."""
        return BasicVSRMethod(self.ws.device), RIFEInterpolator(device=self.ws.device)

    def published_methods(self, table: int) -> dict[str, tuple[Method, str]]:
        """Label -> (method, score-cache key) of the published-weights rows of ``table`` (7-10), built once; no
        network loads before a method runs (Table 7's RBPN -> RIFE loads the Net_S-alone RBPN run)."""
        if table not in self._published_methods:
            basicvsr, rife = self.published_parts
            if table == 8:
                window = BasicVSRWindow(basicvsr)
                rows = {PUBLISHED.BASICVSR: (basicvsr, basicvsr.key), PUBLISHED.BASICVSR_WINDOW: (window, window.key)}
            elif table == 7:
                rbpn, run = self.ssr_method("RBPN")
                rows = {PUBLISHED.BASICVSR_RIFE: (SpaceThenTime(basicvsr, rife, interpolate=False),
                                                  f"{basicvsr.key}-then-{rife.key}"),
                        PUBLISHED.RIFE_BASICVSR: (TimeThenSpace(rife, basicvsr, interpolate=False),
                                                  f"{rife.key}-then-{basicvsr.key}"),
                        PUBLISHED.BASICVSR_FI: (SpaceThenTime(basicvsr, self.cache),
                                                f"{basicvsr.key}-then-flow_interp-{self.cache.backend}"),
                        PUBLISHED.RBPN_RIFE: (SpaceThenTime(rbpn, rife, interpolate=False),
                                              f"RBPN-{run.run_dir.name}-then-{rife.key}")}
            elif table in (9, 10):
                method = RIFEMethod(rife, inputs=("hr",) if table == 9 else ("lr",))
                rows = {PUBLISHED.RIFE: (method, method.key)}
            else:
                raise ValueError(f"published rows belong to Tables 7-10, not {table}")
            self._published_methods[table] = rows
        return self._published_methods[table]

    def _published_entries(self, table: int, bench: dict[str, list[Window]], outputs: tuple[str, ...],
                           niqe: bool = False) -> list[Entry]:
        return [self._published(label, method, key, bench, outputs, niqe=niqe)
                for label, (method, key) in self.published_methods(table).items()]

    def _built(self, table: int, entries: list[Entry]) -> list[Entry]:
        self.methods[table] = {e.label: e.method for e in entries if e.method is not None}
        self.entries[table] = {e.label: e for e in entries if e.method is not None}
        return entries

    def ssr_method(self, name: str) -> tuple[STARMethod, RunResult]:
        """The trained S-SR network ``name`` (DBPN, DBPN-MI, RBPN) as an LR-input method, and its run."""
        if name not in self._ssr:            # Tables 7 and 8 share them: load each run once
            run = train_run(self.ws, self.rows[8][name].training)
            self._ssr[name] = (STARMethod(run.model, self.cache, device=self.ws.device), run)
        return self._ssr[name]

    @cached_property
    def hr_bench(self) -> dict[str, list[Window]]:
        """Benchmarks and items scored with HR inputs (Table 9; these run at 16x the pixels)."""
        return hr_input_benchmarks(self.profile)

    # --- Table 8: S-SR ---------------------------------------------------------------------------------
    def table8(self) -> list[Entry]:
        entries = [floor_entry(self.ws, self.bench, ("sr_t",), label=T8.BICUBIC, paper_method="Bicubic", note="")]
        for name in NET_S_ALONE:
            method, run = self.ssr_method(name)
            e = self._baseline(name, method, run_key(run, "lr", 0), self.bench, ("sr_t",), paper=self.rows[8][name].paper,
                               note=f"Net_S alone, {net_s_steps(self.profile)} steps (stage (a) of STAR's chain)")
            e.info = run_info(run)
            entries.append(e)
        for label in (T8.STAR_ST, T8.STAR_S):
            entries.append(self._trained(8, label, self.bench, ("sr_t",)))
        if self.profile.tables.published_rows:
            entries += self._published_entries(8, self.bench, ("sr_t",))
        return self._built(8, entries)

    # --- Table 7: ST-SR --------------------------------------------------------------------------------
    def table7(self, only: tuple[str, ...] = ()) -> list[Entry]:
        """Table 7's entries; ``only``: just these row labels (the floor always), and only the runs they need."""
        out = ("sr_mid",)
        keep = lambda label: not only or label in only  # noqa: E731
        entries = [floor_entry(self.ws, self.bench, out, niqe=True)]
        cascades = [
            (T7.FI_DBPN, "DBPN", lambda m: TimeThenSpace(self.cache, m), "TOFlow -> DBPN"),
            (T7.DBPN_FI, "DBPN", lambda m: SpaceThenTime(m, self.cache), "DBPN -> DAIN"),
            (T7.MI_FI, "DBPN-MI", lambda m: SpaceThenTime(m, self.cache), "DBPN-MI -> DAIN"),
            (T7.FI_RBPN, "RBPN", lambda m: TimeThenSpace(self.cache, m), "DAIN -> RBPN"),
            (T7.RBPN_FI, "RBPN", lambda m: SpaceThenTime(m, self.cache), "RBPN -> DAIN"),
            (T7.RBPN_AVG, "RBPN", lambda m: SpaceThenTime(m, frame_average, interpolate=False), None),
        ]
        for label, ssr, cascade, paper in cascades:
            if not keep(label):
                continue
            method, run = self.ssr_method(ssr)
            entries.append(self._baseline(label, cascade(method), f"{label.replace(' ', '')}-{run.run_dir.name}-{self.cache.backend}",
                                          self.bench, out, niqe=True, paper=paper, note=FI_NOTE if paper else ""))
        if keep(T7.STAR):
            entries.append(self._trained(7, T7.STAR, self.bench, out, niqe=True, note=self.rows[7][T7.STAR].note))
        if keep(T7.STAR_ST):
            entries.append(self._trained(7, T7.STAR_ST, self.bench, out, niqe=True))
        if only:
            return self._built(7, entries)
        entries.append(reported_entry("STAR-ST-L_f", out, status="not run: no VGG19 weights"))
        for paper in ("*RBPN -> DAIN (joint)", "DBPN -> TOFlow"):
            entries.append(reported_entry(paper, out))
        if self.profile.tables.published_rows:
            entries += self._published_entries(7, self.bench, out, niqe=True)
        return self._built(7, entries)

    # --- Table 9: T-SR at the original resolution ------------------------------------------------------
    def table9(self) -> list[Entry]:
        out = ("hr_mid",)
        cross = self.profile.tables.t9_cross_benchmarks
        cross_bench = {d: w for d, w in self.hr_bench.items() if d in cross}
        entries = [
            floor_entry(self.ws, self.hr_bench, out, label=T9.AVERAGE, note=""),
            self._baseline(T9.FI, FlowInterpolation(self.cache), f"flow_interp-{self.cache.backend}", self.hr_bench,
                           out, note="classical bidirectional warping with occlusion-aware blending"),
            self._trained(9, T9.STAR, cross_bench, out, inputs="hr"),
            self._trained(9, T9.STAR_T_LR, cross_bench, out, inputs="hr"),
            self._trained(9, T9.STAR_T_HR, self.hr_bench, out),
        ]
        for paper in ("DAIN", "MEMC-Net", "SepConv-L_1", "TOFlow", "DVF"):
            entries.append(reported_entry(paper, out))
        if self.profile.tables.published_rows:
            entries += self._published_entries(9, self.hr_bench, out)
        return self._built(9, entries)

    # --- Table 10: T-SR on S-LR ------------------------------------------------------------------------
    def table10(self) -> list[Entry]:
        out = ("lr_mid",)
        entries = [
            floor_entry(self.ws, self.bench, out, label=T10.AVERAGE, note=""),
            self._baseline(T10.FI, FlowInterpolation(self.cache), f"flow_interp-{self.cache.backend}", self.bench, out),
            self._trained(10, T10.STAR, self.bench, out),
            self._trained(10, T10.STAR_T_HR, self.bench, out, wrap=LRFramesAsInput),
            self._trained(10, T10.STAR_T_LR, self.bench, out),
        ]
        for paper in ("DAIN", "TOFlow"):
            entries.append(reported_entry(paper, out))
        if self.profile.tables.published_rows:
            entries += self._published_entries(10, self.bench, out)
        return self._built(10, entries)

    # --- figures -----------------------------------------------------------------------------------------
    def figure(self, table: int, labels: list[str], window: Window, output: str, title: str) -> Figure:
        """Figs. 2, 6, 7: ``output`` of the methods ``labels`` of ``table`` (already built) on one window."""
        stack = load_window(window, self.scale)
        built = self.methods.get(table, {})
        missing = [label for label in labels if label not in built]
        if missing:
            raise KeyError(f"methods {missing} of table {table} were not built yet; run table{table}() first "
                           f"(built: {sorted(built)})")
        preds = {label: built[label](stack)[output] for label in labels}
        return error_grid(ground_truth(stack, output), preds, f"{title} ({window.name})")
