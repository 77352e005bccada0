"""Tables 7-10 of the paper: ST-SR, S-SR and T-SR against other methods, with the methods we can run.

Runnable here: bicubic, frame averaging, classical flow interpolation (:func:`starlib.evaluation.baselines.flow_interpolate`,
standing in for TOFlow / DAIN), DBPN, DBPN-MI and RBPN trained as Net_S alone under the same data and number
of steps as STAR + its finetune, both cascade orders, and every STAR variant. The paper's other methods appear
only as its reported numbers (rows marked ``reported by the paper``).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from starlib.study.tables_1_6 import Context
from starlib.evaluation.baselines import FlowInterpolation, bicubic_and_average, frame_average
from starlib.data.sources import Window
from starlib.study.experiments import test_benchmarks
from starlib.evaluation.cascades import LRFramesAsInput, SpaceThenTime, TimeThenSpace
from starlib.study.recipes import flow_cache, train_model
from starlib.study.entries import Entry, method_entry, trained_entry

#: S-SR networks of Table 8, as Net_S alone (``STARConfig.net_s_only``).
SSR_NETS: dict[str, dict[str, Any]] = {
    "DBPN": {"net_s_only": True, "net_s": "dbpn", "use_flow": False, "use_motion": False, "flow_refine": False},
    "DBPN-MI": {"net_s_only": True, "net_s": "dbpn_mi", "use_motion": False, "flow_refine": False},
    "RBPN": {"net_s_only": True, "net_s": "rbpn", "use_motion": False, "flow_refine": False},
}
FI = "flow interp."
FI_NOTE = "classical flow interpolation stands in for the paper's TOFlow / DAIN"


class Comparisons:
    """Builds (and caches) the methods and table entries of Tables 7-10 under one profile."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.profile = ctx.profile
        self.cache = flow_cache(ctx.profile, ctx.cache_dir)
        self.bench = test_benchmarks(ctx.profile)
        self.scale = ctx.profile.model.scale
        self.methods: dict[int, dict[str, Any]] = {}   # table -> label -> method
        self._table = 0
        self._ssr: dict[str, tuple[Any, Any]] = {}

    # --- helpers -------------------------------------------------------------------------------------
    def _entry(self, label: str, method: Any, key: str, bench: dict[str, list[Window]], outputs: tuple[str, ...],
               niqe: bool = False, paper: str | None = None, note: str = "") -> Entry:
        self.methods.setdefault(self._table, {})[label] = method
        return method_entry(label, method, key, bench, outputs, niqe=niqe, paper_method=paper, note=note,
                            cache_dir=self.ctx.cache_dir, scale=self.scale, progress=self.ctx.progress)

    def _trained(self, label: str, objective: str, variant: dict | None, bench: dict[str, list[Window]],
                 outputs: tuple[str, ...], **kw: Any) -> Entry:
        entry, method = trained_entry(self.profile, label, objective, variant, bench, outputs,
                                      **self.ctx.kw, **kw)
        self.methods.setdefault(self._table, {})[label] = method
        return entry

    def ssr_run_overrides(self) -> dict[str, Any]:
        """Net_S-only networks get STAR's steps plus the finetune's, at STAR's learning rate."""
        train = self.profile.sections.get("train", {})
        finetune = train.get("finetune", {})
        return {"steps": int(train["steps"]) + int(finetune.get("steps", 0)), "lr": float(train["lr"])}

    def ssr_method(self, name: str) -> Any:
        """The trained S-SR network ``name`` (DBPN, DBPN-MI, RBPN) as an LR-input method."""
        from starlib.infer.tiling import STARMethod

        if name not in self._ssr:            # Tables 7 and 8 share them: load each run once
            run = train_model(self.profile, "STAR-S", SSR_NETS[name], init_objective=None, **self.ctx.kw,
                              **self.ssr_run_overrides())
            self._ssr[name] = (STARMethod(run.model, self.cache), run)
        return self._ssr[name]

    @cached_property
    def hr_bench(self) -> dict[str, list[Window]]:
        """Benchmarks and items scored with HR inputs (Table 9): ``[eval] hr_input_benchmarks`` and
        ``max_items_hr_inputs`` (these run at 16x the pixels)."""
        ev = self.profile.sections.get("eval", {})
        n = ev.get("max_items_hr_inputs", 0)
        return {d: (w[:n] if n else w) for d, w in self.bench.items() if d in ev.get("hr_input_benchmarks", [d])}

    # --- Table 8: S-SR ---------------------------------------------------------------------------------
    def table8(self) -> list[Entry]:
        self._table = 8
        entries = [self._entry("Bicubic", bicubic_and_average, f"bicubic_average-s{self.scale}", self.bench,
                               ("sr_t",), paper="Bicubic")]
        for name in SSR_NETS:
            method, run = self.ssr_method(name)
            from starlib.models.star import count_parameters

            e = self._entry(name, method, f"{run.run_dir.name}-lr-tile0", self.bench, ("sr_t",), paper=name,
                            note="Net_S alone, same data and steps as STAR + finetune")
            e.info = {"parameters": count_parameters(run.model), "run": run.run_dir.name,
                      "train_wall_time_s": round(run.wall_time_s, 1)}
            entries.append(e)
        for label in ("STAR-ST", "STAR-S"):
            entries.append(self._trained(label, label, None, self.bench, ("sr_t",), paper_method=label))
        return entries

    # --- Table 7: ST-SR --------------------------------------------------------------------------------
    def table7(self) -> list[Entry]:
        self._table = 7
        out = ("sr_mid",)
        entries = [self._entry("Bicubic + averaging", bicubic_and_average, f"bicubic_average-s{self.scale}",
                               self.bench, out, niqe=True, note="ours only: the non-learned floor")]
        ssr = {name: self.ssr_method(name) for name in SSR_NETS}
        cascades = [
            (f"{FI} -> DBPN", TimeThenSpace(self.cache, ssr["DBPN"][0]), "TOFlow -> DBPN", ssr["DBPN"][1]),
            (f"DBPN -> {FI}", SpaceThenTime(ssr["DBPN"][0], self.cache), "DBPN -> DAIN", ssr["DBPN"][1]),
            (f"DBPN-MI -> {FI}", SpaceThenTime(ssr["DBPN-MI"][0], self.cache), "DBPN-MI -> DAIN", ssr["DBPN-MI"][1]),
            (f"{FI} -> RBPN", TimeThenSpace(self.cache, ssr["RBPN"][0]), "DAIN -> RBPN", ssr["RBPN"][1]),
            (f"RBPN -> {FI}", SpaceThenTime(ssr["RBPN"][0], self.cache), "RBPN -> DAIN", ssr["RBPN"][1]),
            ("RBPN -> averaging", SpaceThenTime(ssr["RBPN"][0], frame_average, interpolate=False), None,
             ssr["RBPN"][1]),
        ]
        for label, method, paper, run in cascades:
            entries.append(self._entry(label, method, f"{label.replace(' ', '')}-{run.run_dir.name}-{self.cache.backend}",
                                       self.bench, out, niqe=True, paper=paper, note=FI_NOTE if paper else ""))
        entries.append(self._trained("STAR", "STAR", None, self.bench, out, niqe=True, paper_method="STAR-L_f",
                                     note="ours: L_r; the paper's STAR row in Table 7 is trained with L_f"))
        entries.append(self._trained("STAR-ST", "STAR-ST", None, self.bench, out, niqe=True,
                                     paper_method="STAR-ST-L_r"))
        entries.append(Entry("STAR-ST-L_f", None, "STAR-ST-L_f", status="not run: no VGG19 weights", outputs=out))
        for paper in ("*RBPN -> DAIN (joint)", "DBPN -> TOFlow"):
            entries.append(Entry(paper, None, paper, status="reported by the paper", outputs=out))
        return entries

    # --- Table 9: T-SR at the original resolution ------------------------------------------------------
    def table9(self) -> list[Entry]:
        self._table = 9
        out = ("hr_mid",)
        cross = self.profile.sections.get("tables", {}).get("t9_cross_benchmarks")
        cross_bench = {d: w for d, w in self.hr_bench.items() if cross is None or d in cross}
        entries = [
            self._entry("Frame averaging", bicubic_and_average, f"bicubic_average-s{self.scale}", self.hr_bench, out),
            self._entry(FI, FlowInterpolation(self.cache), f"flow_interp-{self.cache.backend}", self.hr_bench, out,
                        note="classical bidirectional warping with occlusion-aware blending"),
            self._trained("STAR", "STAR", None, cross_bench, out, inputs="hr", paper_method="STAR"),
            self._trained("STAR-T_LR", "STAR-T_LR", None, cross_bench, out, inputs="hr", paper_method="STAR-T_LR"),
            self._trained("STAR-T_HR", "STAR-T_HR", None, self.hr_bench, out, inputs="hr", paper_method="STAR-T_HR"),
        ]
        for paper in ("DAIN", "MEMC-Net", "SepConv-L_1", "TOFlow", "DVF"):
            entries.append(Entry(paper, None, paper, status="reported by the paper", outputs=out))
        return entries

    # --- Table 10: T-SR on S-LR ------------------------------------------------------------------------
    def table10(self) -> list[Entry]:
        self._table = 10
        out = ("lr_mid",)
        entries = [
            self._entry("Frame averaging", bicubic_and_average, f"bicubic_average-s{self.scale}", self.bench, out),
            self._entry(FI, FlowInterpolation(self.cache), f"flow_interp-{self.cache.backend}", self.bench, out),
            self._trained("STAR", "STAR", None, self.bench, out, paper_method="STAR"),
            self._trained("STAR-T_HR", "STAR-T_HR", None, self.bench, out, inputs="hr", wrap=LRFramesAsInput,
                          key_suffix="-on-lr", paper_method="STAR-T_HR"),
            self._trained("STAR-T_LR", "STAR-T_LR", None, self.bench, out, paper_method="STAR-T_LR"),
        ]
        for paper in ("DAIN", "TOFlow"):
            entries.append(Entry(paper, None, paper, status="reported by the paper", outputs=out))
        return entries

    # --- figures -----------------------------------------------------------------------------------------
    def figure(self, table: int, labels: list[str], window: Window, output: str, title: str) -> Any:
        """Figs. 2, 6, 7: ``output`` of the methods ``labels`` of ``table`` (already built) on one window."""
        from starlib.data import load_window
        from starlib.evaluation.scoring import ground_truth
        from starlib.study.figures import method_grid

        stack = load_window(window, self.scale)
        built = self.methods.get(table, {})
        missing = [label for label in labels if label not in built]
        if missing:
            raise KeyError(f"methods {missing} of table {table} were not built yet; run table{table}() first "
                           f"(built: {sorted(built)})")
        preds = {label: built[label](stack)[output] for label in labels}
        return method_grid(ground_truth(stack, output), preds, f"{title} ({window.name})")
