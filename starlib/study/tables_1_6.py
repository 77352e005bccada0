"""Tables 1-6 of the paper: components, objectives, losses, Net_S, 4x T-SR and T-SR paths.

Every function trains (or reuses) the variants it needs under the workspace's profile, scores them on the
profile's test benchmarks and returns the table's entries; the notebooks write them with
:func:`starlib.study.entries.write_table`. The paper's Tables 1-6 are on Vimeo90K; at the ``smoke``/``cpu``
profiles ours are on Middlebury and UCF101 (Table 5: the TOFlow clip), so compare differences between rows,
not absolute values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from starlib.util.progress import progress_bar

from starlib import metrics as M
from starlib.data import load_window, vimeo90k
from starlib.data.degrade import flow_to_tensor, make_lr, modcrop, to_tensor
from starlib.data.images import read_rgb
from starlib.data.samples import FrameStack, flow_pair, fr_targets
from starlib.data.sources import Window, frame_folder, toflow_frames
from starlib.flow import denormalize_flow
from starlib.infer.runner import STARMethod
from starlib.paper.objectives import OBJECTIVES
from starlib.study.entries import Entry, reported_entry, trained_entry
from starlib.study.figures import flow_panels, worst_crop
from starlib.study.floors import floor_entry
from starlib.study.profile import Profile
from starlib.study.recipes import Training, ablation_benchmarks, loss_overrides, test_benchmarks, train_run
from starlib.study.workspace import Workspace
from starlib.util.paths import from_repo


class T1:
    """Row labels of Table 1 (the claims refer to these)."""
    NO_STAGE2, NO_FLOW, NO_FR, FULL = "STAR w/o Stage 2", "STAR w/o Flow", "STAR w/o FR", "STAR"


class T3:
    LF, LR = "STAR-ST L_f", "STAR-ST L_r"


class T4:
    DBPN, RBPN = "Net_S = DBPN", "Net_S = RBPN"


class T5:
    TWICE_2X, ST_THEN_THR = "(1) STAR-ST -> STAR-ST", "(2) STAR-ST -> STAR-T_HR"


class T6:
    ONLY_ST, HR, LR, FULL = "(1) Only ST-SR", "(2) ST-SR + T-SR S-HR", "(3) ST-SR + T-SR S-LR", "(4) Full"


#: Table 1 rows: label -> (paper row, network variant); the full model is the reference.
TABLE1 = {
    T1.NO_STAGE2: ("STAR w/o Stage 2", {"stage2": False}),
    T1.NO_FLOW: ("STAR w/o Flow", {"use_flow": False, "use_motion": False, "flow_refine": False}),
    T1.NO_FR: ("STAR w/o FR", {"flow_refine": False}),
    T1.FULL: ("STAR", {}),
}
#: Table 2 rows: the objectives, each scored on the outputs it is trained for (labels are objective names).
TABLE2 = ("STAR", "STAR-ST", "STAR-S", "STAR-T_LR")
#: Table 6 rows: label -> (paper row, T-SR paths of Net_ST).
TABLE6 = {
    T6.ONLY_ST: ("Only ST-SR", "none"),
    T6.HR: ("ST-SR+T-SR S-HR", "hr"),
    T6.LR: ("ST-SR+T-SR S-LR", "lr"),
    T6.FULL: ("Full", "both"),
}


def _t12(ws: Workspace, objective: str, variant: dict[str, Any]) -> tuple[Training, str]:
    """A Table 1-2 network with the profile's Net_S and loss for these tables (``[tables] t12_net_s``,
    ``t12_loss``; the paper: DBPN and L_f), and the note that says what ran."""
    tables = ws.profile.tables
    overrides, loss = loss_overrides(ws.profile, tables.t12_loss)
    net_s = {"net_s": tables.t12_net_s} if tables.t12_net_s != ws.profile.model.net_s else {}
    note = f"paper: Net_S = DBPN, L_f; here: Net_S = {tables.t12_net_s.upper()}, {loss}"
    return Training(objective, {**net_s, **variant}, overrides), note


def _with_paper_row(trained: tuple[Training, str], paper: str) -> tuple[Training, str, str]:
    what, note = trained
    return what, paper, note


def table1_trainings(ws: Workspace) -> dict[str, tuple[Training, str, str]]:
    """Table 1's networks: label -> (what to train, paper row, note)."""
    return {label: _with_paper_row(_t12(ws, "STAR", variant), paper) for label, (paper, variant) in TABLE1.items()}


def table2_trainings(ws: Workspace, objectives: tuple[str, ...] = TABLE2) -> dict[str, tuple[Training, str, str]]:
    """Table 2's networks (``objectives``: a subset of its rows): objective -> (what to train, paper row, note)."""
    return {name: _with_paper_row(_t12(ws, name, {}), OBJECTIVES[name].label) for name in objectives}


def table1(ws: Workspace) -> list[Entry]:
    """Basic components: without stage 2, without flow (no flows, no Net_M, no FR), without FR, full;
    all trained with the STAR objective for the same steps; outputs I_t^sr and I_t+^sr."""
    bench = ablation_benchmarks(ws.profile)
    return [trained_entry(ws, label, what, bench, ("sr_t", "sr_mid"), paper_method=paper, note=note)
            for label, (what, paper, note) in table1_trainings(ws).items()] \
        + [floor_entry(ws, bench, ("sr_t", "sr_mid"))]


def table2(ws: Workspace, objectives: tuple[str, ...] = TABLE2) -> list[Entry]:
    """Training objectives: STAR and its finetunes STAR-ST, STAR-S, STAR-T (= STAR-T_LR), each scored on the
    outputs it is trained for (``objectives``: a subset of the rows), or from the authors' file the profile's ``[released]``
    names for it."""
    bench = test_benchmarks(ws.profile)
    outputs = tuple(dict.fromkeys(o for name in objectives for o in OBJECTIVES[name].scored))
    return [trained_entry(ws, name, what, bench, OBJECTIVES[name].scored, paper_method=paper, note=note,
                          released=True)
            for name, (what, paper, note) in table2_trainings(ws, objectives).items()] + [floor_entry(ws, bench, outputs)]


def table3_trainings(ws: Workspace) -> dict[str, Training]:
    """Table 3's networks: L_r, and L_f where VGG19 ImageNet weights are found."""
    overrides, loss = loss_overrides(ws.profile, "L_f")
    return {T3.LR: Training("STAR-ST"), **({T3.LF: Training("STAR-ST", overrides=overrides)} if loss == "L_f" else {})}


def table3(ws: Workspace) -> list[Entry]:
    """L_f (with the VGG19 perceptual term) vs L_r, STAR-ST, with NIQE; the L_f row's whole chain (STAR and the
    STAR-ST finetune) trains with L_f. Without local VGG19 ImageNet weights (``$STARLIB_VGG19``, the torch cache
    or ``[train] vgg_weights``) the L_f row is reported as not run (a randomly initialised VGG would not be
    the paper's loss)."""
    bench = test_benchmarks(ws.profile)
    outputs = ("sr_t", "sr_mid")
    trainings = table3_trainings(ws)
    lr_entry = trained_entry(ws, T3.LR, trainings[T3.LR], bench, outputs, niqe=True, paper_method=T3.LR)
    floor = floor_entry(ws, bench, outputs, niqe=True)
    if T3.LF not in trainings:
        lf_entry = reported_entry(T3.LF, outputs, status="not run: VGG19 ImageNet weights missing",
                                  note="needs torchvision's vgg19-dcbb9e9d.pth (STARLIB_VGG19 or the torch cache)")
        return [lf_entry, lr_entry, floor]
    lf_entry = trained_entry(ws, T3.LF, trainings[T3.LF], bench, outputs, niqe=True,
                             paper_method=T3.LF, note="STAR and its STAR-ST finetune both trained with L_f")
    return [lf_entry, lr_entry, floor]


def ablation_objective(profile: Profile) -> str:
    """Objective of the Table 4 and 6 networks: ``[tables] t46_objective`` (the paper's STAR-ST by default;
    the ``cpu`` profile saves four finetunes with STAR)."""
    return profile.tables.t46_objective


def _ablation_note(profile: Profile) -> str:
    objective = ablation_objective(profile)
    return "" if objective == "STAR-ST" else f"trained with the {objective} objective (paper: STAR-ST)"


def table4(ws: Workspace) -> list[Entry]:
    """Net_S = DBPN vs RBPN (STAR-ST in the paper; see :func:`ablation_objective`)."""
    bench = ablation_benchmarks(ws.profile)
    return [trained_entry(ws, label, what, bench, ("sr_t", "sr_mid"), paper_method=paper,
                          note=_ablation_note(ws.profile)) for label, (what, paper) in table4_trainings(ws).items()] \
        + [floor_entry(ws, bench, ("sr_t", "sr_mid"))]


def table4_trainings(ws: Workspace) -> dict[str, tuple[Training, str]]:
    objective = ablation_objective(ws.profile)
    return {T4.DBPN: (Training(objective, {"net_s": "dbpn"}), "STAR-ST with DBPN"),
            T4.RBPN: (Training(objective), "STAR-ST with RBPN")}


def table6_trainings(ws: Workspace) -> dict[str, tuple[Training, str]]:
    objective = ablation_objective(ws.profile)
    return {label: (Training(objective, {"tsr_paths": paths}), paper) for label, (paper, paths) in TABLE6.items()}


def table6(ws: Workspace) -> list[Entry]:
    """T-SR paths of Net_ST: none, on S-HR, on S-LR, both (STAR-ST with FR in the paper)."""
    bench = ablation_benchmarks(ws.profile)
    return [trained_entry(ws, label, what, bench, ("sr_t", "sr_mid"), paper_method=paper,
                          note=_ablation_note(ws.profile)) for label, (what, paper) in table6_trainings(ws).items()] \
        + [floor_entry(ws, bench, ("sr_t", "sr_mid"))]


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


def _pair(method: Any, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    return method(FrameStack("pair", [a, b], [a, b]))


#: Table 5's networks: STAR-ST at 4x, STAR-T_HR, STAR-ST at 2x space.
TABLE5_TRAININGS = (Training("STAR-ST"), Training("STAR-T_HR"), Training("STAR-ST", {"scale": 2}))


def table5(ws: Workspace) -> tuple[list[Entry], str]:
    """4x frame rate from frames 1 and 5 of five-frame windows (paper Table 5):
    (1) STAR-ST at 2x space, twice (2x2 = 4x space, 2x2 = 4x time);
    (2) STAR-ST at 4x space (frames 1, 3, 5), then STAR-T_HR between the SR frames (frames 2, 4).
    Outputs: ``sr_t`` = frames 1 and 5, ``sr_mid`` = frames 2, 3, 4; one score row per frame."""
    prof, cache = ws.profile, ws.flows
    tile = prof.eval.tile_hr
    st4, thr, st2 = (train_run(ws, what) for what in TABLE5_TRAININGS)
    m_st4 = STARMethod(st4.model, cache, device=ws.device)
    m_thr = STARMethod(thr.model, cache, inputs="hr", tile=tile, device=ws.device)
    m_st2 = STARMethod(st2.model, cache, device=ws.device)
    stacks, tag = septuplet_windows(prof)
    rows: dict[str, list[dict]] = {T5.TWICE_2X: [], T5.ST_THEN_THR: []}
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
                rows[label].append({"dataset": tag.split(" ")[0], "item": f"{stack.name}/f{i + 1}",
                                    "output": "sr_t" if i in (0, 4) else "sr_mid",
                                    "psnr": M.psnr(gt, pred), "ssim": M.ssim_matlab3d(gt, pred),
                                    "psnr_y": M.psnr_y(gt, pred), "ssim_y": M.ssim_y(gt, pred)})
    note = "frames scored one by one (5 per window); models trained on triplets (the paper: septuplets)"
    entries = [Entry(T5.TWICE_2X, pd.DataFrame(rows[T5.TWICE_2X]), "STAR-ST -> STAR-ST", note,
                     info={"runs": st2.run_dir.name}),
               Entry(T5.ST_THEN_THR, pd.DataFrame(rows[T5.ST_THEN_THR]), "STAR-ST -> STAR-T", note,
                     info={"runs": f"{st4.run_dir.name}+{thr.run_dir.name}"})]
    return entries, tag


@torch.no_grad()
def refined_flows(model: Any, stack: FrameStack, cache: Any) -> dict[str, np.ndarray]:
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


def figure5(ws: Workspace, window: Window) -> Any:
    """Fig. 5: flows without FR, refined by FR, and through the true middle frame, with I_t+^sr of the
    models trained without and with FR (zoomed where the model without FR errs most)."""
    cache = ws.flows
    trainings = table1_trainings(ws)
    full, no_fr = train_run(ws, trainings[T1.FULL][0]), train_run(ws, trainings[T1.NO_FR][0])
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
