"""Table ZSM: space-time SR scored the way the field scores it since 2020 (Zooming Slow-Mo, TMNet, RSTT).

The protocol (:mod:`starlib.evaluation.zsm`, :mod:`starlib.data.septuplets`): 7-frame windows, frames 1, 3, 5, 7
downsampled x4 in, all seven HR frames predicted, PSNR and SSIM on the unrounded BT.601 luma with no border
crop (:mod:`starlib.metrics.y_float`), the mean over a clip's scored frames, then over clips. STARnet and every
other pair method run on the three consecutive input pairs; frames 3 and 5, predicted by two pairs, come from
``[zsm] key_frames`` (default ``second``: the later pair's ``sr_t``) and the other two choices are measured
beside it.

Our rows: bicubic + averaging, the cascades of Table 7 (flow interpolation standing in for DAIN / TOFlow, the
Net_S-alone S-SR networks trained as for Tables 7-8), flow interpolation -> bicubic (the runnable stand-in of
TMNet's "DAIN + Bicubic"), STAR and STAR-ST. Data: Vid4 and the Vimeo-90K Fast / Medium / Slow septuplets when
the profile (or the notebook) gives their folders, else the embedded 12-frame TOFlow clip. TMNet's table is
added as rows *reported by TMNet* (``starlib/paper/zsm_reported.csv``, transcribed from its results image).

Written by notebook 14: ``results/<profile>/table_zsm.csv`` (summary rows), ``table_zsm_items.csv`` (per frame
or per window), ``table_zsm.md``, and the same Markdown as a block of ``tables.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from starlib.data.septuplets import Clip, toflow_clip, vid4_clips, vimeo_septuplets
from starlib.evaluation.baselines import frame_average
from starlib.evaluation.cascades import SpaceThenTime, TimeThenSpace
from starlib.evaluation.methods import Method
from starlib.evaluation.published import PUBLISHED_LABEL, BasicVSRMethod, RIFEInterpolator
from starlib.evaluation.stats import mean_ci95, paired_difference
from starlib.evaluation.zsm import KEY_FRAME_CHOICES, METRICS, BicubicPairs, WithKeyFrames, score_clip
from starlib.flow import FlowCache
from starlib.infer.runner import STARMethod
from starlib.models.star import STARnet, count_parameters
from starlib.study.trainings import recipes
from starlib.study.trainings.catalog import FI, FLOOR, T7
from starlib.study.setup.profile import ZSMSettings
from starlib.study.trainings.recipes import Training
from starlib.study.trainings.released import WEIGHTS_LABEL, released_note, released_run
from starlib.study.tables.tables_7_10 import FI_NOTE, PUBLISHED, Comparisons
from starlib.study.trainings.training_runs import train_run
from starlib.study.setup.workspace import Workspace
from starlib.study.tables.entries import RowInfo
from starlib.train import RunResult
from starlib.util.atomic import atomic_write_text
from starlib.util.paths import from_repo
from starlib.util.provenance import write_results_csv

TITLE = "Table ZSM. Space-time SR under the ZSM protocol (Vid4 / Vimeo-Fast, -Medium, -Slow; Y channel)"
PROTOCOL = ("ZSM protocol: 7-frame windows, frames 1, 3, 5, 7 downsampled x4 in, all 7 HR frames scored; PSNR and "
            "SSIM (Wang, 11x11 Gaussian, 'valid') on unrounded BT.601 Y, no border crop; mean over a clip's scored "
            "frames, then over clips")
REPORTED_BY = "reported by TMNet"
REPORTED_PROTOCOL = ("ZSM protocol as run by the TMNet authors (utils/evaluation_single_frame.py: Y-PSNR/SSIM of "
                     "uint8 outputs, no crop; LR by MATLAB bicubic); how they applied STARnet to 4 inputs is not "
                     "documented")
DATASET_NAMES = {"vid4": "Vid4", "vid4_pil": "Vid4 (Pillow LR)", "vimeo_fast": "Vimeo-Fast", "vimeo_medium": "Vimeo-Medium",
                 "vimeo_slow": "Vimeo-Slow", "toflow": "TOFlow clip"}
FRAME_SETS = ("all", "key", "inserted", "shared")
MD_START, MD_END = "<!-- table_zsm:start -->", "<!-- table_zsm:end -->"


class Z:
    """Row labels of the ZSM table."""
    BICUBIC = FLOOR
    FI_BICUBIC = f"{FI} -> Bicubic"
    FI_DBPN, DBPN_FI, MI_FI = T7.FI_DBPN, T7.DBPN_FI, T7.MI_FI
    FI_RBPN, RBPN_FI, RBPN_AVG = T7.FI_RBPN, T7.RBPN_FI, T7.RBPN_AVG
    STAR, STAR_ST = T7.STAR, T7.STAR_ST
    ALL = (BICUBIC, FI_BICUBIC, FI_DBPN, DBPN_FI, MI_FI, FI_RBPN, RBPN_FI, RBPN_AVG, STAR, STAR_ST)
    BASICVSR_RIFE = PUBLISHED.BASICVSR_RIFE
    #: Rows from published weights (docs/published_models.md): built with ``[tables] published_rows``.
    PUBLISHED_ROWS = (BASICVSR_RIFE,)


#: Our row -> (TMNet's row it corresponds to, the same method?): stand-ins get the reported value for reading,
#: never a difference.
COUNTERPARTS: dict[str, tuple[str, bool]] = {Z.STAR_ST: ("STARnet", True), Z.FI_BICUBIC: ("DAIN + Bicubic", False),
                                             Z.FI_RBPN: ("DAIN + RBPN", False)}


def reported_zsm() -> pd.DataFrame:
    """TMNet's table (method, dataset, metric, value, fps, params_m, source): ``starlib/paper/zsm_reported.csv``."""
    with files("starlib.paper").joinpath("zsm_reported.csv").open() as f:
        return pd.read_csv(f, dtype={"fps": str, "params_m": str})


# --- data --------------------------------------------------------------------------------------------------

@dataclass
class ZSMData:
    """One data set of the table: its clips, how LR frames are obtained, and a note for the table."""

    name: str
    clips: list[Clip]
    lr: str
    note: str = ""
    lr_method: str = "pil"     # how LR frames are made from GT when none are given


def vid4_name(lr_method: str) -> str:
    """The data-set name of Vid4 with LR made by ``lr_method``: ``vid4`` for MATLAB-style bicubic (the BI x4
    protocol that TMNet's reported rows use), ``vid4_<method>`` otherwise."""
    return "vid4" if lr_method == "matlab" else f"vid4_{lr_method}"


def zsm_datasets(settings: ZSMSettings, toflow_note: str = "") -> list[ZSMData]:
    """The data sets ``settings`` names (Vid4, each Vimeo list), else the embedded TOFlow clip."""
    def made(method: str) -> str:
        return f"made from GT: modcrop + {method} bicubic x4"

    out = []
    if settings.vid4_root:
        clips = vid4_clips(settings.vid4_root, settings.vid4_lr_root or None)[:settings.max_clips or None]
        if settings.vid4_lr_root:
            out.append(ZSMData("vid4", clips, f"given: {settings.vid4_lr_root}", lr_method=settings.lr_method))
        else:
            for method in settings.vid4_lr_methods or (settings.lr_method,):
                out.append(ZSMData(vid4_name(method), clips, made(method), lr_method=method))
    if settings.vimeo_septuplet_root:
        for split in settings.vimeo_lists:
            out.append(ZSMData(f"vimeo_{split}", vimeo_septuplets(settings.vimeo_septuplet_root, split,
                                                                limit=settings.max_clips), made(settings.lr_method),
                               lr_method=settings.lr_method))
    if not out:
        out.append(ZSMData("toflow", [toflow_clip()], made(settings.lr_method), toflow_note,
                           lr_method=settings.lr_method))
    return out


def toflow_training_note(ws: Workspace) -> str:
    """Whether the TOFlow clip is training data at this profile (then its scores are not test scores)."""
    split = getattr(recipes, "training_split", None)      # (train, validation, tag); older: training_windows
    windows = split(ws.profile)[0] if split is not None else recipes.training_windows(ws.profile)[0]
    if any("toflow_clip" in str(p) for w in windows for p in w.frames):
        return "the TOFlow clip is also training data at this profile: its scores are not test scores"
    return "the TOFlow clip is not among this profile's training windows"


# --- methods -----------------------------------------------------------------------------------------------

@dataclass
class ZSMMethod:
    label: str
    method: Method
    info: RowInfo = field(default_factory=dict)
    note: str = ""


def build_methods(ws: Workspace, labels: Sequence[str] = ()) -> list[ZSMMethod]:
    """Our rows (``labels``; empty: :attr:`Z.ALL`, plus :attr:`Z.PUBLISHED_ROWS` with ``[tables]
    published_rows``), from the study's trained runs (trained first when missing)."""
    known = Z.ALL + Z.PUBLISHED_ROWS
    labels = tuple(labels) or (known if ws.profile.tables.published_rows else Z.ALL)
    unknown = [x for x in labels if x not in known]
    if unknown:
        raise ValueError(f"unknown ZSM rows {unknown}; choose from {list(known)}")
    comp = Comparisons(ws)
    # flows computed, never stored: Vimeo's 7,815 septuplets would write gigabytes of flows of HR outputs
    cache, scale, tile = FlowCache(None, ws.profile.flow.backend), ws.profile.scale, ws.profile.eval.tile("lr")
    bicubic = BicubicPairs(scale)

    def network(run: RunResult) -> tuple[Method, RowInfo]:
        method = STARMethod(run.model, cache, inputs="lr", tile=tile, device=ws.device)
        return method, {"run": run.run_dir.name, "parameters": count_parameters(run.model)}

    def ssr(name: str) -> tuple[Method, RowInfo]:
        return network(comp.ssr_method(name)[1])        # the Net_S-alone run of Tables 7-8

    def star(objective: str) -> tuple[Method, RowInfo]:
        authors = released_run(ws, objective)           # the profile's [released] file, else trained here
        if authors is None:
            return network(train_run(ws, Training(objective)))
        method, info = network(authors.run)
        return method, {**info, "setup": authors.setup, **authors.info}

    def t_then_s(name: str) -> tuple[Method, RowInfo]:
        method, info = ssr(name)
        return WithKeyFrames(TimeThenSpace(cache, method), method), info

    def s_then_t(name: str, time: Callable = cache, interpolate: bool = True) -> tuple[Method, RowInfo]:
        method, info = ssr(name)
        return SpaceThenTime(method, time, interpolate=interpolate), info

    builders: dict[str, Callable[[], tuple[Method, RowInfo]]] = {
        Z.BICUBIC: lambda: (bicubic, {}),
        Z.FI_BICUBIC: lambda: (WithKeyFrames(TimeThenSpace(cache, bicubic), bicubic), {}),
        Z.FI_DBPN: lambda: t_then_s("DBPN"), Z.DBPN_FI: lambda: s_then_t("DBPN"),
        Z.MI_FI: lambda: s_then_t("DBPN-MI"), Z.FI_RBPN: lambda: t_then_s("RBPN"),
        Z.RBPN_FI: lambda: s_then_t("RBPN"), Z.RBPN_AVG: lambda: s_then_t("RBPN", frame_average, False),
        Z.STAR: lambda: star("STAR"), Z.STAR_ST: lambda: star("STAR-ST"),
        Z.BASICVSR_RIFE: lambda: (SpaceThenTime(BasicVSRMethod(ws.device), RIFEInterpolator(device=ws.device),
                                                interpolate=False), {"weights": PUBLISHED_LABEL}),
    }
    notes = {Z.BICUBIC: "the non-learned floor: bicubic of each input; in-between: bicubic of the LR average",
             Z.STAR: "ours: L_r", Z.STAR_ST: "ours: L_r; the STARnet of TMNet's table is the authors' model",
             Z.BASICVSR_RIFE: f"{PUBLISHED_LABEL}; BasicVSR on each input pair (two-frame clips, as every pair "
                              f"method here); Vid4 is not in Vimeo90K; Vimeo-Fast/Medium/Slow are septuplet test "
                              f"clips, disjoint from BasicVSR's septuplet training split (their overlap with "
                              f"RIFE's triplet training clips is not documented)"}
    out = []
    for label in labels:
        method, info = builders[label]()
        note = notes.get(label, FI_NOTE if FI in label else "")
        if info.get("weights") == WEIGHTS_LABEL:        # a [released] file, not the training the note describes
            note = released_note(info["source_file"])
        out.append(ZSMMethod(label, method, info, note))
    return out


# --- scoring and summaries ---------------------------------------------------------------------------------

def score_methods(methods: Sequence[ZSMMethod], datasets: Sequence[ZSMData], settings: ZSMSettings,
                  scale: int = 4, progress: bool = False) -> pd.DataFrame:
    """Per-frame items of every method on every data set (columns of :func:`starlib.evaluation.zsm.score_clip`
    with ``method`` and ``dataset`` first)."""
    rows = []
    for m in methods:
        for data in datasets:
            clips = data.clips
            if progress:
                from starlib.util.progress import progress_bar
                clips = progress_bar(clips, desc=f"{m.label} {data.name}", leave=False)
            for clip in clips:
                for r in score_clip(m.method, clip, scale, data.lr_method, settings.crop, settings.tail_window,
                                    settings.max_windows):
                    rows.append({"method": m.label, "dataset": data.name, **r})
    return pd.DataFrame(rows)


def _subset(g: pd.DataFrame, frames: str) -> pd.DataFrame:
    if frames == "all":
        return g
    if frames == "shared":
        return g[g["shared"].astype(bool)]
    return g[g["role"] == frames]


def _per_clip(g: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean of ``column`` over each clip's scored frames: the protocol's per-clip score."""
    return g.groupby("clip", sort=False)[column].mean().rename("value").reset_index()


SUMMARY_COLUMNS = ["table", "method", "dataset", "frames", "key_frames", "default", "metric", "mean", "ci95_low",
                   "ci95_high", "n_clips", "n_frames", "reference_method", "delta_vs_reference", "delta_ci95_low",
                   "delta_ci95_high", "n_paired", "reported_method", "reported", "reported_same_method",
                   "ours_minus_reported", "status", "protocol", "lr", "note", "source"]


def summarize_zsm(items: pd.DataFrame, default: str = "second", reference: str | None = FLOOR,
                  reported: pd.DataFrame | None = None, lr: Mapping[str, str] | None = None,
                  notes: Mapping[str, str] | None = None,
                  counterparts: Mapping[str, tuple[str, bool]] = COUNTERPARTS) -> pd.DataFrame:
    """Summary rows: per (method, data set, frame set, key-frame choice, metric) the mean over clips of the
    per-clip means, its 95% interval over clips, and the difference to ``reference`` paired over clips. Frame
    sets: ``all`` (the protocol's number), ``key`` (frames 1, 3, 5, 7: S-SR), ``inserted`` (2, 4, 6: ST-SR),
    ``shared`` (3 and 5, where the choices differ). ``reported`` (TMNet's table, :func:`reported_zsm`) adds the
    counterpart's value to our rows (``counterparts``: our label -> (TMNet's row, the same method?); a difference
    only for the same method) and its own rows marked *reported by TMNet*."""
    reported = reported_zsm() if reported is None else reported
    lr, notes = dict(lr or {}), dict(notes or {})
    rows = []
    ref_items = items[items["method"] == reference] if reference is not None else items.iloc[:0]
    for (method, dataset), g in items.groupby(["method", "dataset"], sort=False):
        r_g = ref_items[ref_items["dataset"] == dataset]
        counterpart, same = counterparts.get(method, ("", False))
        for choice in KEY_FRAME_CHOICES:
            for frames in FRAME_SETS:
                sub, r_sub = _subset(g, frames), _subset(r_g, frames)
                if sub.empty:
                    continue
                for metric in METRICS:
                    col = f"{metric}_{choice}"
                    clips = _per_clip(sub, col)
                    mean, lo, hi = mean_ci95(clips["value"].to_numpy())
                    row = {"table": "zsm", "method": method, "dataset": dataset, "frames": frames,
                           "key_frames": choice, "default": choice == default, "metric": metric, "mean": mean,
                           "ci95_low": lo, "ci95_high": hi, "n_clips": len(clips), "n_frames": len(sub),
                           "status": "run", "protocol": PROTOCOL, "lr": lr.get(dataset, ""),
                           "note": notes.get(method, "")}
                    if reference is not None and method != reference and not r_sub.empty:
                        d, dlo, dhi, n = paired_difference(clips, _per_clip(r_sub, col), "value", on=("clip",))
                        if n:
                            row.update(reference_method=reference, delta_vs_reference=d, delta_ci95_low=dlo,
                                       delta_ci95_high=dhi, n_paired=n)
                    if counterpart and frames == "all":
                        hit = reported[(reported.method == counterpart) & (reported.dataset == dataset)
                                       & (reported.metric == metric)]
                        if len(hit):
                            value = float(hit.iloc[0]["value"])
                            row.update(reported_method=counterpart, reported=value, reported_same_method=same,
                                       ours_minus_reported=mean - value if same else np.nan)
                    rows.append(row)
    for _, r in reported.iterrows():
        rows.append({"table": "zsm", "method": r["method"], "dataset": r["dataset"], "frames": "all",
                     "key_frames": "", "default": True, "metric": r["metric"], "n_clips": 0, "n_frames": 0,
                     "reported_method": r["method"], "reported": float(r["value"]), "status": REPORTED_BY,
                     "protocol": REPORTED_PROTOCOL, "source": r["source"],
                     "note": f"params {r['params_m']} M" + (f", {r['fps']} fps" if isinstance(r["fps"], str) and r["fps"] else "")})
    frame = pd.DataFrame(rows)
    for c in SUMMARY_COLUMNS:
        if c not in frame.columns:
            frame[c] = np.nan
    return frame[SUMMARY_COLUMNS]


def window_items(items: pd.DataFrame) -> pd.DataFrame:
    """Per-window means of per-frame items (``item_level = "window"``): one row per (method, data set, clip,
    window) with the mean of every metric column and the number of frames it scored."""
    keys = ["method", "dataset", "clip", "window", "start"]
    cols = [c for c in items.columns if re.fullmatch(r"(psnr_y|ssim_y)_\w+", c)]
    out = items.groupby(keys, sort=False)[cols].mean().reset_index()
    out["n_frames"] = items.groupby(keys, sort=False).size().to_numpy()
    return out


# --- rendering ---------------------------------------------------------------------------------------------

def _fmt(value: float | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and np.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def _pm(row: pd.Series, digits: int) -> str:
    text = _fmt(row["mean"], digits)
    if text and pd.notna(row["ci95_low"]) and pd.notna(row["ci95_high"]) and np.isfinite(row["ci95_high"]):
        text += f" ± {(row['ci95_high'] - row['ci95_low']) / 2:.{digits}f}"
    return text


def render_zsm_markdown(summary: pd.DataFrame, provenance: str = "", data_notes: Mapping[str, str] | None = None) -> str:
    """The table as Markdown: our rows (default key frames), the key-frame alternatives, TMNet's rows;
    ``data_notes``: a note per data set (e.g. that the TOFlow clip is training data)."""
    ours = summary[summary["status"] == "run"]
    lines = [f"## {TITLE}", ""]
    if provenance:
        lines += [provenance, ""]
    lines += [f"{PROTOCOL}. Each cell: mean over clips ± the half-width of its 95% interval over clips "
              f"(none with one clip). Frames 3 and 5 (two predictions each, from the pairs (1,3)/(3,5) and "
              f"(3,5)/(5,7)): the later pair's by default; the other choices are measured below.", ""]
    data_notes = dict(data_notes or {})
    for dataset, lr in ours.groupby("dataset", sort=False)["lr"].first().items():
        extra = f"; {data_notes[dataset]}" if data_notes.get(dataset) else ""
        lines.append(f"- {DATASET_NAMES.get(dataset, dataset)}: LR {lr}{extra}.")
    lines.append("")
    head = ["method", "data", "PSNR-Y", "SSIM-Y", "PSNR-Y key (S-SR)", "PSNR-Y inserted (ST-SR)",
            "Δ PSNR-Y vs bicubic [95% CI]", "TMNet's row", "its PSNR-Y / SSIM-Y"]
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    default = ours[ours["default"].astype(bool)]
    for (method, dataset), g in default.groupby(["method", "dataset"], sort=False):
        by = {(r.frames, r.metric): r for r in g.itertuples()}
        p, s = by.get(("all", "psnr_y")), by.get(("all", "ssim_y"))
        key, ins = by.get(("key", "psnr_y")), by.get(("inserted", "psnr_y"))
        delta = ""
        if p is not None and pd.notna(p.delta_vs_reference):
            ci = (f" [{p.delta_ci95_low:+.2f}, {p.delta_ci95_high:+.2f}]"
                  if pd.notna(p.delta_ci95_low) and np.isfinite(p.delta_ci95_low) else "")
            delta = f"{p.delta_vs_reference:+.2f}{ci}"
        elif method == FLOOR:
            delta = "ref"
        rep = ""
        if p is not None and isinstance(p.reported_method, str) and p.reported_method:
            rep = f"{_fmt(p.reported, 2)} / {_fmt(s.reported if s is not None else np.nan, 4)}"
        lines.append("| " + " | ".join([
            method, DATASET_NAMES.get(dataset, dataset),
            _pm(pd.Series(p._asdict()), 2) if p is not None else "", _pm(pd.Series(s._asdict()), 4) if s is not None else "",
            _fmt(key.mean, 2) if key is not None else "", _fmt(ins.mean, 2) if ins is not None else "", delta,
            (p.reported_method + ("" if p.reported_same_method is True else " (stand-in)"))
            if p is not None and isinstance(p.reported_method, str) else "", rep]) + " |")
    # key-frame alternatives: the methods whose two predictions of frames 3 and 5 differ
    alt = ours[(ours["frames"].isin(["all", "shared"])) & (ours["metric"] == "psnr_y")]
    lines += ["", "Key-frame choice (frames 3 and 5): PSNR-Y of all frames and of frames 3 and 5 alone, by which "
              "prediction is kept (first: the earlier pair's sr_t1; second: the later pair's sr_t; mean: their "
              "pixel mean). Rows where the three agree to the precision shown are left out (single-image S-SR: "
              "the two predictions are one frame).", ""]
    head = ["method", "data"] + [f"{c} all / 3,5" for c in KEY_FRAME_CHOICES]
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (method, dataset), g in alt.groupby(["method", "dataset"], sort=False):
        cells = []
        for c in KEY_FRAME_CHOICES:
            a = g[(g.key_frames == c) & (g.frames == "all")]["mean"]
            sh = g[(g.key_frames == c) & (g.frames == "shared")]["mean"]
            cells.append(f"{_fmt(float(a.iloc[0]), 3) if len(a) else ''} / {_fmt(float(sh.iloc[0]), 3) if len(sh) else ''}")
        if len({cell for cell in cells}) == 1:
            continue           # both predictions equal (single-image S-SR): nothing to choose
        lines.append("| " + " | ".join([method, DATASET_NAMES.get(dataset, dataset)] + cells) + " |")
    rep = summary[summary["status"] == REPORTED_BY]
    lines += ["", f"Reported by TMNet (Xu et al., CVPR 2021; {REPORTED_PROTOCOL}): PSNR-Y / SSIM-Y.", ""]
    sets = [d for d in DATASET_NAMES if d in set(rep["dataset"])]
    head = ["method"] + [DATASET_NAMES[d] for d in sets] + ["params (M)"]
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for method, g in rep.groupby("method", sort=False):
        cells = []
        for d in sets:
            v = {r.metric: r.reported for r in g[g.dataset == d].itertuples()}
            cells.append(f"{_fmt(v.get('psnr_y', np.nan), 2)} / {_fmt(v.get('ssim_y', np.nan), 4)}")
        params = str(g.iloc[0]["note"]).split(",")[0].removeprefix("params ").removesuffix(" M")
        lines.append("| " + " | ".join([method] + cells + [params]) + " |")
    return "\n".join(lines) + "\n"


def merge_into_tables_md(path: Path, block: str) -> str:
    """``tables.md`` with ``block`` between the table_zsm markers (replaced if present, appended if not; the
    file is created when notebook 12 has not written it yet)."""
    text = path.read_text() if path.is_file() else ""
    marked = f"{MD_START}\n{block.rstrip()}\n{MD_END}\n"
    if MD_START in text and MD_END in text:
        head, rest = text.split(MD_START, 1)
        return head + marked + rest.split(MD_END, 1)[1].lstrip("\n")
    return (text.rstrip() + "\n\n" if text.strip() else "") + marked


# --- the notebook's one call -------------------------------------------------------------------------------

@dataclass
class ZSMResult:
    items: pd.DataFrame
    summary: pd.DataFrame
    markdown: str
    datasets: list[ZSMData]
    methods: list[ZSMMethod]


def settings_with(settings: ZSMSettings, **paths: str) -> ZSMSettings:
    """``settings`` with the non-empty ``paths`` (vid4_root, vid4_lr_root, vimeo_septuplet_root) replaced."""
    return replace(settings, **{k: v for k, v in paths.items() if v})


def resolve_paths(settings: ZSMSettings) -> ZSMSettings:
    """Relative ``vid4_root`` / ``vimeo_septuplet_root`` taken from the repository root, as every path of a
    profile or a notebook parameter (``vid4_lr_root`` may also name a folder under ``vid4_root``)."""
    return replace(settings, vid4_root=from_repo(settings.vid4_root),
                   vimeo_septuplet_root=from_repo(settings.vimeo_septuplet_root))


def run_table_zsm(ws: Workspace, settings: ZSMSettings | None = None, write: bool = True) -> ZSMResult:
    """Build the rows, score them, summarise, and (``write``) write ``table_zsm.csv``, ``table_zsm_items.csv``,
    ``table_zsm.md`` and the block of ``tables.md`` with provenance (the training seed of the rows' runs)."""
    import time

    start = time.perf_counter()
    settings = resolve_paths(settings or ws.profile.zsm)
    datasets = zsm_datasets(settings, toflow_training_note(ws))
    methods = build_methods(ws, settings.methods)
    items = score_methods(methods, datasets, settings, ws.profile.scale, ws.progress)
    notes = {m.label: m.note for m in methods}
    summary = summarize_zsm(items, settings.key_frames, FLOOR if FLOOR in notes else None,
                            lr={d.name: d.lr for d in datasets}, notes=notes)
    data = ", ".join(f"{d.name}:{len(d.clips)} clips" for d in datasets)
    n_items = int(items.groupby(["dataset", "clip"]).ngroups) if len(items) else 0
    prov = ws.provenance(data, n_items, time.perf_counter() - start)
    where = (f"profile `{prov['profile']}`, commit `{prov['git_commit']}`, seed {prov['seed']}, {n_items} clip(s) ({data}), "
             f"created {prov['created_utc']}")
    markdown = render_zsm_markdown(summary, where, {d.name: d.note for d in datasets})
    if write:
        stored = items if settings.item_level == "frame" else window_items(items)
        write_results_csv(stored.to_dict("records"), ws.results_file("table_zsm_items.csv"), prov)
        write_results_csv(summary.to_dict("records"), ws.results_file("table_zsm.csv"), prov)
        atomic_write_text(ws.results_file("table_zsm.md"), markdown)
        tables = ws.results_file("tables.md")
        atomic_write_text(tables, merge_into_tables_md(tables, markdown))
    return ZSMResult(items, summary, markdown, datasets, methods)


def score_checkpoint(model: STARnet, label: str, settings: ZSMSettings, flows: FlowCache, device: torch.device,
                     tile: int = 0,
                     bicubic: bool = True, progress: bool = False, toflow_note: str = "",
                     counterpart: tuple[str, bool] | None = ("STARnet", True)) -> ZSMResult:
    """``python -m starlib zsm``: a loaded ST-SR network (``label`` names its row) and, with ``bicubic``, the
    bicubic floor, scored on the data sets of ``settings``; nothing is written (the caller writes)."""
    methods = ([ZSMMethod(FLOOR, BicubicPairs(model.cfg.scale))] if bicubic else []) + [
        ZSMMethod(label, STARMethod(model, flows, inputs="lr", tile=tile, device=device),
                  {"parameters": count_parameters(model)})]
    datasets = zsm_datasets(settings, toflow_note)
    items = score_methods(methods, datasets, settings, model.cfg.scale, progress)
    summary = summarize_zsm(items, settings.key_frames, FLOOR if bicubic else None,
                            lr={d.name: d.lr for d in datasets},
                            counterparts={label: counterpart} if counterpart else {})
    return ZSMResult(items, summary, render_zsm_markdown(summary, data_notes={d.name: d.note for d in datasets}),
                     datasets, methods)


def key_frame_view(summary: pd.DataFrame) -> pd.DataFrame:
    """PSNR-Y of all frames and of frames 3 and 5 per method and key-frame choice (a notebook view)."""
    ours = summary[(summary.status == "run") & (summary.metric == "psnr_y") & summary.frames.isin(["all", "shared"])]
    return ours.pivot_table(index=["method", "dataset", "frames"], columns="key_frames", values="mean",
                            sort=False).round(3)


def view(summary: pd.DataFrame) -> pd.DataFrame:
    """Our rows at the default key frames and TMNet's STARnet, Zooming Slow-Mo and TMNet rows, compactly."""
    keep = summary[((summary.status == "run") & summary["default"].astype(bool) & (summary.frames == "all"))
                   | ((summary.status == REPORTED_BY) & summary.method.isin(["STARnet", "Zooming Slow-Mo", "TMNet"]))]
    cols = ["method", "dataset", "metric", "mean", "ci95_low", "ci95_high", "n_clips", "delta_vs_reference",
            "reported_method", "reported", "ours_minus_reported", "status"]
    return keep[cols].round(4)


__all__ = ["COUNTERPARTS", "DATASET_NAMES", "PROTOCOL", "REPORTED_BY", "TITLE", "Z", "ZSMData", "ZSMMethod",
           "ZSMResult", "build_methods", "key_frame_view", "merge_into_tables_md", "render_zsm_markdown",
           "reported_zsm", "resolve_paths", "run_table_zsm", "score_checkpoint", "score_methods", "settings_with", "summarize_zsm", "toflow_clip",
           "toflow_training_note", "view", "window_items", "zsm_datasets"]
