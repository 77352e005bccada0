"""Figures shared by the notebooks. Every function returns a matplotlib Figure and writes nothing."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

import pandas as pd

from starlib.data.samples import FrameStack
from starlib.evaluation.baselines import bicubic_and_average
from starlib.evaluation.methods import Method, ground_truth
from starlib.evaluation.stats import REFERENCE_LEVELS, gain_by_reference_level
from starlib.flow import denormalize_flow, flow_to_color
from starlib.metrics import psnr as psnr_fn


#: Average glyph width of matplotlib's default font (DejaVu Sans) in em: what :func:`wrapped` assumes.
GLYPH_EM = 0.62


def wrapped(text: str, width_in: float, fontsize: float, max_lines: int | None = None) -> str:
    """``text`` broken at spaces into lines that fit ``width_in`` inches at ``fontsize`` points; with
    ``max_lines``, the last line ends in an ellipsis when the text is longer (no word is ever cut)."""
    chars = max(8, int(width_in * 72 / (GLYPH_EM * fontsize)))
    lines = textwrap.wrap(text, chars, break_long_words=False, break_on_hyphens=False) or [""]
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [textwrap.shorten(" ".join(lines[max_lines - 1:]), chars, placeholder=" …")]
    return "\n".join(lines)


def stamp(fig: plt.Figure, text: str) -> None:
    """Small grey provenance line at the bottom-left of a figure."""
    fig.text(0.005, 0.005, text, fontsize=6, color="gray", ha="left", va="bottom")


def sample_grid(stacks: Sequence[FrameStack], flows: Sequence[np.ndarray], titles: Sequence[str]) -> plt.Figure:
    """One row per sample: HR t, true HR middle, HR t+1, LR t (at its size), colour-coded LR flow t->t+1.
    ``flows`` are normalised (H, W, 2) flows, shown in pixels."""
    cols = ("frame t (HR)", "true middle (HR)", "frame t+1 (HR)", "frame t (LR input)", "flow t→t+1 (LR)")
    fig, axes = plt.subplots(len(stacks), len(cols), figsize=(2.4 * len(cols), 2.0 * len(stacks)), squeeze=False)
    for r, (stack, flow, title) in enumerate(zip(stacks, flows, titles)):
        mid = len(stack.hr) // 2
        px = denormalize_flow(flow)
        images = (stack.hr[0], stack.hr[mid], stack.hr[-1], stack.lr[0], flow_to_color(px))
        for c, img in enumerate(images):
            ax = axes[r, c]
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=8)
        axes[r, 0].set_ylabel(wrapped(title, 1.8, 8), fontsize=8)
        mag = np.hypot(px[..., 0], px[..., 1])
        axes[r, 4].set_xlabel(f"max {mag.max():.1f} px", fontsize=7)
    fig.tight_layout()
    return fig


def worst_crop(reference_error: np.ndarray, crop: int, stride: int = 8) -> tuple[int, int, int]:
    """Top-left (y, x) and size of the ``crop`` x ``crop`` window where an (H, W) error map is largest."""
    k = min(crop, *reference_error.shape[:2])
    pooled = np.lib.stride_tricks.sliding_window_view(reference_error, (k, k))[::stride, ::stride].mean((-1, -2))
    y, x = np.unravel_index(np.argmax(pooled), pooled.shape)
    return int(y * stride), int(x * stride), k


def abs_error(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(H, W) absolute error in 8-bit levels, averaged over the RGB channels."""
    if gt.shape != pred.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    return np.abs(pred.astype(np.float32) - gt.astype(np.float32)).mean(-1)


def default_crop(shape: Sequence[int]) -> int:
    """Default zoom size: 64 px, at most half the frame's shorter side, at least 8 px."""
    return int(max(8, min(64, min(shape[:2]) // 2)))


def clamp_box(box: Sequence[int], shape: Sequence[int]) -> Box:
    """``(y, x, size)`` moved and shrunk as little as needed to lie inside a frame of ``shape``."""
    y, x, k = (int(v) for v in box)
    h, w = int(shape[0]), int(shape[1])
    k = max(1, min(k, h, w))
    return min(max(y, 0), h - k), min(max(x, 0), w - k), k


def default_box(gt: np.ndarray, preds: Mapping[str, np.ndarray], size: int | None = None) -> Box:
    """Where the first method errs most (:func:`worst_crop`), ``size`` px square."""
    if not preds:
        raise ValueError("no predictions: select at least one method")
    first = next(iter(preds.values()))
    return worst_crop(abs_error(gt, first), size or default_crop(gt.shape))


def shared_error_scale(errors: Sequence[np.ndarray], percentile: float = 99.0) -> float:
    """Upper end of the one colour scale of all error maps: the largest per-method ``percentile`` of the
    absolute error (so a few outlier pixels do not wash out the maps), at least 1 level."""
    return max([1.0, *(float(np.percentile(e, percentile)) for e in errors)])



#: Font sizes (pt) of the comparison figures: readable when a notebook shows the figure at browser width.
FONT, SMALL = 11, 10
ERROR_CMAP = "magma"
Box = tuple[int, int, int]


def zoom_box(xy: tuple[float, float], width: float, height: float) -> plt.Rectangle:
    """The zoom box as drawn on every panel: a white line edged in black, visible on any colour (a red box
    vanished on red content, a cyan one on cold error maps)."""
    from matplotlib import patheffects

    box = plt.Rectangle(xy, width, height, fill=False, ec="white", lw=1.2)
    box.set_path_effects([patheffects.Stroke(linewidth=3.0, foreground="black"), patheffects.Normal()])
    return box


def error_grid(gt: np.ndarray, preds: Mapping[str, np.ndarray], title: str, box: Sequence[int] | None = None,
               vmax: float | None = None, inputs: Mapping[str, np.ndarray] | None = None,
               notes: Mapping[str, str] | None = None) -> plt.Figure:
    """The visual comparisons (Figs. 2, 6, 7 and notebook 13): one column per method plus the ground truth
    ``gt`` (last). Rows: the frame with the zoom box, the zoomed
    crop (nearest neighbour; crop PSNR in the title), the absolute-error map with the box (whole-frame PSNR
    and MAE in the title) and the zoomed error. Every panel uses the same box (:func:`zoom_box`), every error
    map the same colour scale (0..``vmax`` levels; default :func:`shared_error_scale`). ``box`` defaults to
    :func:`default_box`. ``inputs`` (label -> frame), when given, fill a first row with the box scaled to their
    size; ``notes`` (label -> text, e.g. a method's seconds) go under a method's name."""
    if not preds:
        raise ValueError("no predictions: select at least one method")
    errors = {label: abs_error(gt, img) for label, img in preds.items()}
    y, x, k = clamp_box(box if box is not None else default_box(gt, preds), gt.shape)
    vmax = float(vmax) if vmax is not None else shared_error_scale(list(errors.values()))
    panels = [*preds.items(), ("ground truth", gt)]
    n, first = len(panels), (1 if inputs else 0)
    fig, grid = plt.subplots(4 + first, n, figsize=(2.6 * n + 0.9, 10.4 + 2.4 * first), squeeze=False,
                             layout="constrained")
    axes = grid[first:]
    if inputs:
        for ax, (label, img) in zip(grid[0], inputs.items()):
            sy, sx = img.shape[0] / gt.shape[0], img.shape[1] / gt.shape[1]
            ax.imshow(img, interpolation="nearest")
            ax.add_patch(zoom_box((x * sx - 0.5, y * sy - 0.5), k * sx, k * sy))
            ax.set_title(wrapped(f"{label} ({img.shape[1]}x{img.shape[0]})", 2.4, SMALL), fontsize=SMALL)
        for ax in grid[0, len(inputs):]:
            ax.set_axis_off()
        grid[0, 0].set_ylabel("input", fontsize=FONT)
    zoom = (slice(y, y + k), slice(x, x + k))
    mappable = None
    for i, (label, img) in enumerate(panels):
        axes[0, i].imshow(img, interpolation="nearest")
        axes[0, i].add_patch(zoom_box((x - 0.5, y - 0.5), k, k))
        note = (notes or {}).get(label)
        axes[0, i].set_title(wrapped(label, 2.4, FONT, max_lines=2) + (f"\n{note}" if note else ""), fontsize=FONT)
        axes[1, i].imshow(img[zoom], interpolation="nearest")
        if label in errors:
            err = errors[label]
            axes[1, i].set_title(f"zoom {psnr_fn(gt[zoom], img[zoom]):.2f} dB", fontsize=SMALL)
            mappable = axes[2, i].imshow(err, cmap=ERROR_CMAP, vmin=0.0, vmax=vmax, interpolation="nearest")
            axes[2, i].add_patch(zoom_box((x - 0.5, y - 0.5), k, k))
            axes[2, i].set_title(wrapped(f"frame {psnr_fn(gt, img):.2f} dB, MAE {err.mean():.2f}", 2.4, SMALL),
                                 fontsize=SMALL)
            axes[3, i].imshow(err[zoom], cmap=ERROR_CMAP, vmin=0.0, vmax=vmax, interpolation="nearest")
        else:
            axes[1, i].set_title(f"zoom y={y} x={x} size={k}", fontsize=SMALL)
            axes[2, i].set_axis_off()
            axes[3, i].set_axis_off()
    for ax in grid.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for row, name in enumerate(("output", "zoom", "|error|", "|error| zoom")):
        axes[row, 0].set_ylabel(name, fontsize=FONT)
    cax = axes[2, -1].inset_axes((0.05, 0.0, 0.09, 1.0))   # the shared scale, in the ground truth's column
    bar = fig.colorbar(mappable, cax=cax)
    bar.set_label("|output - ground truth|\n(8-bit levels, RGB mean)", fontsize=SMALL)
    bar.ax.tick_params(labelsize=SMALL)
    fig.get_layout_engine().set(rect=(0, 0.02, 1, 0.98))   # room for a provenance stamp at the bottom
    fig.suptitle(wrapped(title, 2.6 * n + 0.5, 12), fontsize=12)
    return fig



def flow_key(radius_px: float, size: int = 121) -> np.ndarray:
    """(size, size, 3) uint8 colour key of :func:`flow_to_color` at scale ``radius_px``: the colour of a flow
    (u, v) is the pixel at that offset from the centre (right = +u, down = +v; the rim is ``radius_px``)."""
    r = np.linspace(-radius_px, radius_px, size)
    u, v = np.meshgrid(r, r)
    key = flow_to_color(np.stack([u, v], -1), max_magnitude=radius_px)
    key[np.hypot(u, v) > radius_px] = 255
    return key


def flow_panels(flows: dict[str, np.ndarray], frames: dict[str, np.ndarray], title: str,
                percentile: float = 99.0) -> plt.Figure:
    """Fig. 5. Top row: colour-coded flows (pixels) on one colour scale, the ``percentile`` of their magnitudes
    (so one outlier cannot wash out the others), and the colour key; the largest magnitude of each flow under
    it. Bottom row: ``frames`` (e.g. crops of I_t+^sr without and with FR and the ground truth), titled by
    their keys."""
    mags = {k: np.hypot(v[..., 0], v[..., 1]) for k, v in flows.items()}
    scale = max([1e-3, *(float(np.percentile(m, percentile)) for m in mags.values())])
    cols = max(len(flows) + 1, len(frames))
    fig, axes = plt.subplots(2, cols, figsize=(3.1 * cols, 6.6), squeeze=False, layout="constrained")
    for ax, (name, flow) in zip(axes[0], flows.items()):
        ax.imshow(flow_to_color(flow, max_magnitude=scale), interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(f"max {mags[name].max():.2f} px, mean {mags[name].mean():.2f} px", fontsize=9)
    key = axes[0, len(flows)]
    key.imshow(flow_key(scale), extent=(-scale, scale, scale, -scale))
    key.set_title(f"colour key (rim = {scale:.2f} px)", fontsize=10)
    key.set_xlabel("u (px), right", fontsize=9)
    key.set_ylabel("v (px), down", fontsize=9)
    key.tick_params(labelsize=8)
    for ax, (name, img) in zip(axes[1], frames.items()):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(wrapped(name, 2.9, 10), fontsize=10)
    for ax in [*axes[0, :len(flows)], *axes[1]]:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in [*axes[0, len(flows) + 1:], *axes[1, len(frames):]]:
        ax.set_axis_off()
    fig.get_layout_engine().set(rect=(0, 0.02, 1, 0.98))   # room for a provenance stamp
    fig.suptitle(wrapped(title, 3.1 * cols - 0.4, 11), fontsize=11)
    return fig


def ema(values: Sequence[float], weight: float = 0.9) -> np.ndarray:
    """Exponential moving average (bias-corrected, as TensorBoard's smoothing): the trend of a noisy loss."""
    out, acc = np.empty(len(values)), 0.0
    for i, v in enumerate(values):
        acc = weight * acc + (1 - weight) * float(v)
        out[i] = acc / (1 - weight ** (i + 1))
    return out


def training_curves(log: list[dict], val: list[dict], title: str, smoothing: float = 0.9) -> plt.Figure:
    """Left: the training loss per logged step (thin) and its EMA (bold), log scale, with the learning rate.
    Right: validation PSNR of each output minus its bicubic + averaging baseline on the same held-out frames
    (above 0: the model beats the floor). The right panel says so when the run has no validation."""
    frame = pd.DataFrame(log).apply(pd.to_numeric, errors="coerce")
    fig, (ax, axv) = plt.subplots(1, 2, figsize=(11, 3.6))
    if len(frame):
        ax.plot(frame["step"], frame["total"], color="tab:blue", lw=0.7, alpha=0.4, label="total loss")
        ax.plot(frame["step"], ema(frame["total"].to_numpy(), smoothing), color="tab:blue", lw=2,
                label=f"EMA ({smoothing:g})")
        ax.set_yscale("log")
        ax2 = ax.twinx()
        ax2.plot(frame["step"], frame["lr"], color="gray", ls=":", lw=1)
        ax2.set_yscale("log")
        ax2.set_ylabel("learning rate", color="gray")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7, loc="upper right")
    vf = pd.DataFrame(val)
    if len(vf):
        vf[["step", "psnr", "baseline_psnr"]] = vf[["step", "psnr", "baseline_psnr"]].apply(pd.to_numeric)
        for output, g in vf.groupby("output", sort=False):
            axv.plot(g["step"], g["psnr"] - g["baseline_psnr"], marker="o", ms=3, label=output)
        axv.axhline(0, color="black", lw=0.8)
        axv.legend(fontsize=7)
        axv.set_ylabel("validation PSNR - baseline (dB)")
    else:
        axv.text(0.5, 0.5, "no validation split ([validation] windows = 0)", ha="center", va="center",
                 transform=axv.transAxes, fontsize=8)
    axv.set_xlabel("step")
    fig.suptitle(wrapped(title, 10.5, 10), fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))          # room for a provenance stamp
    return fig


def gain_by_item(a: pd.DataFrame, b: pd.DataFrame, outputs: Sequence[str], title: str, metric: str = "psnr",
                 edges: Sequence[float] = REFERENCE_LEVELS) -> plt.Figure:
    """One panel per output: each item's gain of ``a`` over the reference ``b`` (y) against the reference's own
    score (x), a colour per data set, with the mean gain and its 95% interval per level bin
    (:func:`starlib.evaluation.stats.gain_by_reference_level`, all data sets together) in black."""
    outputs = [o for o in outputs if o in set(a["output"]) and o in set(b["output"])]
    width = max(4.2 * max(len(outputs), 1), 5.6)
    fig, axes = plt.subplots(1, max(len(outputs), 1), figsize=(width, 3.9), squeeze=False)
    keys = ["dataset", "output", "item"]
    paired = a[keys + [metric]].merge(b[keys + [metric]], on=keys, suffixes=("_a", "_b")).dropna()
    paired = paired[np.isfinite(paired[f"{metric}_a"]) & np.isfinite(paired[f"{metric}_b"])]
    for ax, output in zip(axes[0], outputs):
        rows = paired[paired["output"] == output]
        for dataset, g in rows.groupby("dataset"):
            ax.scatter(g[f"{metric}_b"], g[f"{metric}_a"] - g[f"{metric}_b"], s=9, alpha=0.5,
                       label=f"{dataset} ({len(g)})")
        pooled = {k: f[(f["output"] == output) & np.isfinite(f[metric])].assign(
            item=lambda d: d["dataset"] + "/" + d["item"].astype(str), dataset="all") for k, f in (("a", a), ("b", b))}
        bins = gain_by_reference_level(pooled["a"], pooled["b"], metric, edges)
        low, high = rows[f"{metric}_b"].min(), rows[f"{metric}_b"].max()
        for r in bins.itertuples():
            x = (max(r.level_low, low) + min(r.level_high, high)) / 2      # the bin's centre within the data
            err = [[r.gain - r.gain_ci95_low], [r.gain_ci95_high - r.gain]] if np.isfinite(r.gain_ci95_low) else None
            ax.errorbar([x], [r.gain], yerr=err, color="black", marker="s", ms=5, capsize=3, zorder=5)
            ax.annotate(f"{r.gain:+.2f}\nn={r.n}", (x, r.gain), textcoords="offset points", xytext=(6, 4), fontsize=8)
        for e in edges:
            if low < e < high:
                ax.axvline(e, color="gray", lw=0.6, ls=":")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(f"reference {metric.upper()} on the item (dB)")
        ax.set_ylabel("gain over the reference (dB)")
        ax.set_title(output, fontsize=10)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(wrapped(title, width - 0.4, 10), fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))          # room for a provenance stamp
    return fig


def comparison_figure(method: Method, stack: FrameStack, output: str, scale: int = 4, crop: int = 96) -> plt.Figure:
    """Ground truth, bicubic + averaging and ours on one sample: full frame, a zoomed crop where the
    baseline errs most, and absolute-error maps."""
    gt = ground_truth(stack, output)
    base = bicubic_and_average(stack, scale)[output]
    ours = method(stack)[output]
    err_b = np.abs(base.astype(float) - gt).mean(-1)
    y, x, k = worst_crop(err_b, crop)
    panels = [("ground truth", gt), ("bicubic + averaging", base), ("ours", ours)]
    fig, axes = plt.subplots(2, 4, figsize=(11, 5.2))
    for i, (name, img) in enumerate(panels):
        axes[0, i].imshow(img)
        axes[0, i].add_patch(plt.Rectangle((x, y), k, k, fill=False, ec="yellow", lw=1))
        axes[0, i].set_title(name, fontsize=9)
        axes[1, i].imshow(img[y:y + k, x:x + k], interpolation="nearest")
    vmax = max(err_b.max(), 1)
    axes[0, 3].imshow(err_b, cmap="magma", vmin=0, vmax=vmax)
    axes[0, 3].set_title("|error| bicubic + avg.", fontsize=9)
    axes[1, 3].imshow(np.abs(ours.astype(float) - gt).mean(-1), cmap="magma", vmin=0, vmax=vmax)
    axes[1, 3].set_title("|error| ours", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def text_layout_problems(fig: plt.Figure, tolerance_px: float = 1.0) -> list[str]:
    """Every drawn text of ``fig`` that leaves the canvas or overlaps another drawn text (window extents after
    a draw; tick labels only of the ticks drawn). Empty when the figure is fit for a paper."""
    from matplotlib.axis import Axis
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for tick in axis.get_major_ticks() +
             axis.get_minor_ticks() for t in (tick.label1, tick.label2)}
    drawn = [t for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) if ax.get_visible() and axis.get_visible()
             for tick in Axis._update_ticks(axis) for t in (tick.label1, tick.label2)
             if t.get_visible() and t.get_text().strip()]
    drawn += [t for t in fig.findobj(Text) if id(t) not in ticks and t.get_visible() and t.get_text().strip()
              and (t.axes is None or t.axes.get_visible())]
    boxes = [(t, t.get_window_extent(renderer)) for t in drawn]
    width, height = fig.canvas.get_width_height()
    problems = []
    for t, b in boxes:
        if b.x0 < -tolerance_px or b.y0 < -tolerance_px or b.x1 > width + tolerance_px or b.y1 > height + tolerance_px:
            problems.append(f"{t.get_text()!r} leaves the canvas ({b.x0:.0f}, {b.y0:.0f}, {b.x1:.0f}, {b.y1:.0f} "
                            f"on {width}x{height})")
    for i, (t, b) in enumerate(boxes):
        for u, c in boxes[i + 1:]:
            overlap_w = min(b.x1, c.x1) - max(b.x0, c.x0)
            overlap_h = min(b.y1, c.y1) - max(b.y0, c.y0)
            if overlap_w > tolerance_px and overlap_h > tolerance_px:
                problems.append(f"{t.get_text()!r} overlaps {u.get_text()!r}")
    return problems
