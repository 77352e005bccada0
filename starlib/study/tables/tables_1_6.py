"""Tables 1-6 of the paper: components, objectives, losses, Net_S, 4x T-SR and T-SR paths.

Every function trains (or reuses) the variants it needs under the workspace's profile, scores them on the
profile's test benchmarks and returns the table's entries; the notebooks write them with
:func:`starlib.study.tables.entries.write_table`. The paper's Tables 1-6 are on Vimeo90K; at the ``smoke``/``cpu``
profiles ours are on Middlebury and UCF101 (Table 5: the TOFlow clip), so compare differences between rows,
not absolute values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from starlib.util.progress import progress_bar

from starlib import metrics as M
from starlib.data import load_window, vimeo90k
from starlib.data.degrade import flow_to_tensor, make_lr, modcrop, to_tensor
from starlib.data.images import read_rgb
from starlib.data.samples import FrameStack, flow_pair, fr_targets
from starlib.data.sources import Window, frame_folder, toflow_frames
from starlib.evaluation.methods import Method
from starlib.flow import FlowCache, denormalize_flow
from starlib.infer.runner import STARMethod
from starlib.models.star import STARnet
from starlib.study.trainings.catalog import TABLE2, T1, T3, T5, table_catalog
from starlib.study.tables.entries import Entry, reported_entry, trained_entry
from starlib.study.tables.figures import flow_panels, worst_crop
from starlib.study.tables.floors import floor_entry
from starlib.study.setup.profile import Profile
from starlib.study.trainings.recipes import ablation_benchmarks, test_benchmarks
from starlib.study.trainings.training_runs import train_run
from starlib.study.setup.workspace import Workspace
from starlib.util.paths import from_repo


def table1(ws: Workspace) -> list[Entry]:
    """Basic components: without stage 2, without flow (no flows, no Net_M, no FR), without FR, full;
    all trained with the STAR objective for the same steps; outputs I_t^sr and I_t+^sr."""
    bench = ablation_benchmarks(ws.profile)
    return [trained_entry(ws, label, row.training, bench, ("sr_t", "sr_mid"), paper_method=row.paper, note=row.note)
            for label, row in table_catalog(ws, 1).items()] + [floor_entry(ws, bench, ("sr_t", "sr_mid"))]


def table2(ws: Workspace, objectives: tuple[str, ...] = TABLE2) -> list[Entry]:
    """Training objectives: STAR and its finetunes STAR-ST, STAR-S, STAR-T (= STAR-T_LR), each scored on the
    outputs it is trained for (``objectives``: a subset of the rows), or from the authors' file the profile's ``[released]``
    names for it."""
    bench = test_benchmarks(ws.profile)
    rows = table_catalog(ws, 2, objectives)
    outputs = tuple(dict.fromkeys(o for row in rows.values() for o in row.training.record.scored))
    return [trained_entry(ws, name, row.training, bench, row.training.record.scored, paper_method=row.paper,
                          note=row.note, released=True) for name, row in rows.items()] + [floor_entry(ws, bench, outputs)]


def table3(ws: Workspace) -> list[Entry]:
    """L_f (with the VGG19 perceptual term) vs L_r, STAR-ST, with NIQE; the L_f row's whole chain (STAR and the
    STAR-ST finetune) trains with L_f. Without local VGG19 ImageNet weights (``$STARLIB_VGG19``, the torch cache
    or ``[train] vgg_weights``) the L_f row is reported as not run (a randomly initialised VGG would not be
    the paper's loss)."""
    bench = test_benchmarks(ws.profile)
    outputs = ("sr_t", "sr_mid")
    rows = table_catalog(ws, 3)
    lr_entry = trained_entry(ws, T3.LR, rows[T3.LR].training, bench, outputs, niqe=True, paper_method=T3.LR)
    floor = floor_entry(ws, bench, outputs, niqe=True)
    if T3.LF not in rows:
        lf_entry = reported_entry(T3.LF, outputs, status="not run: VGG19 ImageNet weights missing",
                                  note="needs torchvision's vgg19-dcbb9e9d.pth (STARLIB_VGG19 or the torch cache)")
        return [lf_entry, lr_entry, floor]
    lf = rows[T3.LF]
    lf_entry = trained_entry(ws, T3.LF, lf.training, bench, outputs, niqe=True, paper_method=lf.paper, note=lf.note)
    return [lf_entry, lr_entry, floor]


def _ablation(ws: Workspace, table: int) -> list[Entry]:
    bench = ablation_benchmarks(ws.profile)
    return [trained_entry(ws, label, row.training, bench, ("sr_t", "sr_mid"), paper_method=row.paper, note=row.note)
            for label, row in table_catalog(ws, table).items()] + [floor_entry(ws, bench, ("sr_t", "sr_mid"))]


def table4(ws: Workspace) -> list[Entry]:
    """Net_S = DBPN vs RBPN (STAR-ST in the paper; see :func:`starlib.study.trainings.catalog.ablation_objective`)."""
    return _ablation(ws, 4)


def table6(ws: Workspace) -> list[Entry]:
    """T-SR paths of Net_ST: none, on S-HR, on S-LR, both (STAR-ST with FR in the paper)."""
    return _ablation(ws, 6)


# --- Table 5: 4x frame rate ------------------------------------------------------------------------

def septuplet_windows(profile: Profile) -> tuple[list[FrameStack], str]:
    """Five-frame windows for 4x T-SR: Vimeo90K septuplets (frames 1-5 of ``sep_testlist.txt``) when
    ``[zsm] vimeo_septuplet_root`` (the one home of the septuplet folder; ``[data] vimeo_root`` is the triplets') is set,
    else the embedded TOFlow clip (12 frames; windows start every 2 frames), centre-cropped to
    ``[tables] t5_crop`` HR pixels. LR frames by the profile's 4x bicubic downscaling."""
    crop, limit = profile.tables.t5_crop, profile.tables.t5_max_windows
    root = from_repo(profile.zsm.vimeo_septuplet_root)
    if root:
        windows = vimeo90k(root, "test", "septuplet")
        frames = [list(w.frames)[:5] for w in windows]
        names, tag = [w.name for w in windows], "vimeo90k-septuplet-test"
    else:
        clip = frame_folder(toflow_frames(), "toflow")
        paths = list(clip.frames)
        starts = range(0, len(paths) - 4, 2)
        frames = [paths[s:s + 5] for s in starts]
        names, tag = [f"toflow/{s:02d}" for s in starts], "toflow_clip (also in the cpu training data)"
    if limit:
        frames, names = frames[:limit], names[:limit]
    stacks = []
    for name, paths in zip(names, frames):
        hr = [read_rgb(p) for p in paths]
        h, w = hr[0].shape[:2]
        ch, cw = min(crop[0], h), min(crop[1], w)
        y, x = (h - ch) // 2, (w - cw) // 2
        hr = [modcrop(f[y:y + ch, x:x + cw], 8) for f in hr]
        stacks.append(FrameStack(name, hr, [make_lr(f, 4)[1] for f in hr]))
    return stacks, tag


def _pair(method: Method, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    return method(FrameStack("pair", [a, b], [a, b]))


def table5(ws: Workspace) -> tuple[list[Entry], str]:
    """4x frame rate from frames 1 and 5 of five-frame windows (paper Table 5):
    (1) STAR-ST at 2x space, twice (2x2 = 4x space, 2x2 = 4x time);
    (2) STAR-ST at 4x space (frames 1, 3, 5), then STAR-T_HR between the SR frames (frames 2, 4).
    Outputs: ``sr_t`` = frames 1 and 5, ``sr_mid`` = frames 2, 3, 4; one score row per frame."""
    prof, cache = ws.profile, ws.flows
    tile = prof.eval.tile_hr
    rows = table_catalog(ws, 5)
    (st2_what,), (st4_what, thr_what) = rows[T5.TWICE_2X].trainings, rows[T5.ST_THEN_THR].trainings
    st4, thr, st2 = (train_run(ws, what) for what in (st4_what, thr_what, st2_what))
    m_st4 = STARMethod(st4.model, cache, device=ws.device)
    m_thr = STARMethod(thr.model, cache, inputs="hr", tile=tile, device=ws.device)
    m_st2 = STARMethod(st2.model, cache, device=ws.device)
    stacks, tag = septuplet_windows(prof)
    scores: dict[str, list[dict]] = {T5.TWICE_2X: [], T5.ST_THEN_THR: []}
    for stack in progress_bar(stacks, desc="Table 5", disable=not ws.progress):
        lr0, lr4 = stack.lr[0], stack.lr[-1]
        # (1): 2x, then 2x between each pair of 2x frames
        a = _pair(m_st2, lr0, lr4)
        first, second = _pair(m_st2, a["sr_t"], a["sr_mid"]), _pair(m_st2, a["sr_mid"], a["sr_t1"])
        mid2 = np.clip((first["sr_t1"].astype(np.float32) + second["sr_t"]) / 2 + 0.5, 0, 255).astype(np.uint8)
        path1 = [first["sr_t"], first["sr_mid"], mid2, second["sr_mid"], second["sr_t1"]]
        # (2): 4x S-SR + 2x T-SR, then T-SR at HR between the SR frames
        b = _pair(m_st4, lr0, lr4)
        path2 = [b["sr_t"], _pair(m_thr, b["sr_t"], b["sr_mid"])["hr_mid"], b["sr_mid"],
                 _pair(m_thr, b["sr_mid"], b["sr_t1"])["hr_mid"], b["sr_t1"]]
        for label, frames in ((T5.TWICE_2X, path1), (T5.ST_THEN_THR, path2)):
            for i, (pred, gt) in enumerate(zip(frames, stack.hr)):
                scores[label].append({"dataset": tag.split(" ")[0], "item": f"{stack.name}/f{i + 1}",
                                    "output": "sr_t" if i in (0, 4) else "sr_mid",
                                    "psnr": M.psnr(gt, pred), "ssim": M.ssim_matlab3d(gt, pred),
                                    "psnr_y": M.psnr_y(gt, pred), "ssim_y": M.ssim_y(gt, pred)})
    note = "frames scored one by one (5 per window); models trained on triplets (the paper: septuplets)"
    entries = [Entry(T5.TWICE_2X, pd.DataFrame(scores[T5.TWICE_2X]), rows[T5.TWICE_2X].paper, note,
                     info={"runs": st2.run_dir.name}),
               Entry(T5.ST_THEN_THR, pd.DataFrame(scores[T5.ST_THEN_THR]), rows[T5.ST_THEN_THR].paper, note,
                     info={"runs": f"{st4.run_dir.name}+{thr.run_dir.name}"})]
    return entries, tag


@torch.no_grad()
def refined_flows(model: STARnet, stack: FrameStack, cache: FlowCache) -> dict[str, np.ndarray]:
    """Fig. 5's three flows F_{t->t+1} on the LR frames, in pixels: (a) from I_t and I_t+1, (b) the same after
    the model's FR, (c) through the true middle frame (FR's training target)."""
    a, mid, b = stack.lr[0], stack.lr[len(stack.lr) // 2], stack.lr[-1]
    fwd, bwd = flow_pair(a, b, cache)
    dev = next(model.parameters()).device
    t = lambda x: flow_to_tensor(x)[None].to(dev)  # noqa: E731
    refined = model.flow_net.refine(t(fwd), to_tensor(a)[None].to(dev), to_tensor(b)[None].to(dev))[0]
    refined = refined.permute(1, 2, 0).cpu().numpy()
    gt_fwd, _ = fr_targets(a, mid, b, cache)
    return {"(a) flow from I_t, I_t+1": denormalize_flow(fwd), "(b) refined by FR": denormalize_flow(refined),
            "(c) through the true I_t+": denormalize_flow(gt_fwd)}


def figure5(ws: Workspace, window: Window) -> Figure:
    """Fig. 5: flows without FR, refined by FR, and through the true middle frame, with I_t+^sr of the
    models trained without and with FR (zoomed where the model without FR errs most)."""
    cache = ws.flows
    rows = table_catalog(ws, 1)
    full, no_fr = train_run(ws, rows[T1.FULL].training), train_run(ws, rows[T1.NO_FR].training)
    stack = load_window(window, ws.profile.scale)
    flows = refined_flows(full.model.eval(), stack, cache)
    gt = stack.hr[len(stack.hr) // 2]
    preds = {"I_t+^sr w/o FR": STARMethod(no_fr.model, cache, device=ws.device)(stack)["sr_mid"],
             "I_t+^sr with FR": STARMethod(full.model, cache, device=ws.device)(stack)["sr_mid"]}
    y, x, k = worst_crop(np.abs(preds["I_t+^sr w/o FR"].astype(np.float32) - gt).mean(-1), 96)
    zoom = (slice(y, y + k), slice(x, x + k))
    frames = {f"{name}: crop {M.psnr(gt[zoom], img[zoom]):.2f} dB, frame {M.psnr(gt, img):.2f} dB": img[zoom]
              for name, img in preds.items()} | {f"ground truth (crop y={y} x={x}, {k} px)": gt[zoom]}
    return flow_panels(flows, frames, f"Fig. 5, {window.name}: flows F_t->t+1 on the LR frames, and I_t+^sr "
                                      f"where the model without FR errs most")
