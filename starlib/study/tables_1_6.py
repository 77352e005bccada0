"""Tables 1-6 of the paper: components, objectives, losses, Net_S, 4x T-SR and T-SR paths.

Every function trains (or reuses) the variants it needs under a profile, scores them on the profile's test
benchmarks and returns the table's entries; the notebooks write them with :func:`starlib.study.entries.write_table`.
The paper's Tables 1-6 are on Vimeo90K; at the ``smoke``/``cpu`` profiles ours are on Middlebury and UCF101
(Table 5: the TOFlow clip), so compare differences between rows, not absolute values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from starlib import metrics as M
from starlib.data.degrade import make_lr, modcrop
from starlib.data.images import read_rgb
from starlib.data.samples import FrameStack
from starlib.data.sources import data_root, frame_folder
from starlib.study.experiments import OBJECTIVE_OUTPUTS, test_benchmarks
from starlib.study.profile import Profile
from starlib.study.entries import Entry, trained_entry

#: Table 1 rows: label -> (paper row, network variant); the full model is the reference.
TABLE1 = {
    "STAR w/o Stage 2": ("STAR w/o Stage 2", {"stage2": False}),
    "STAR w/o Flow": ("STAR w/o Flow", {"use_flow": False, "use_motion": False, "flow_refine": False}),
    "STAR w/o FR": ("STAR w/o FR", {"flow_refine": False}),
    "STAR": ("STAR", {}),
}
#: Table 6 rows: label -> (paper row, T-SR paths of Net_ST).
TABLE6 = {
    "(1) Only ST-SR": ("Only ST-SR", "none"),
    "(2) ST-SR + T-SR S-HR": ("ST-SR+T-SR S-HR", "hr"),
    "(3) ST-SR + T-SR S-LR": ("ST-SR+T-SR S-LR", "lr"),
    "(4) Full": ("Full", "both"),
}
PAPER_SETUP = "paper: Net_S = DBPN and L_f for Tables 1-2; ours: RBPN (the authors' code) and L_r"


@dataclass
class Context:
    """What every table function needs: the profile and where runs, caches and progress go."""

    profile: Profile
    runs_dir: str | Path | None = None
    cache_dir: str | Path | None = None
    progress: bool = True
    seed: int | None = None          # training seed (None: the profile's)

    @property
    def kw(self) -> dict[str, Any]:
        kw = {"runs_dir": self.runs_dir, "cache_dir": self.cache_dir, "progress": self.progress}
        return kw | ({"seed": self.seed} if self.seed is not None else {})


def ablation_benchmarks(profile: Profile) -> dict[str, list]:
    """Test sets of the architecture ablations (Tables 1, 4, 6): the profile's, each cut to
    ``[tables] ablation_max_items`` items (0 = all) to bound the evaluation time of the many variants."""
    n = profile.sections.get("tables", {}).get("ablation_max_items", 0)
    return {d: (w[:n] if n else w) for d, w in test_benchmarks(profile).items()}


def table1(ctx: Context) -> list[Entry]:
    """Basic components: without stage 2, without flow (no flows, no Net_M, no FR), without FR, full;
    all trained with the STAR objective for the same steps; outputs I_t^sr and I_t+^sr."""
    bench = ablation_benchmarks(ctx.profile)
    return [trained_entry(ctx.profile, label, "STAR", variant, bench, ("sr_t", "sr_mid"), paper_method=paper,
                          note=PAPER_SETUP, **ctx.kw)[0]
            for label, (paper, variant) in TABLE1.items()]


def table2(ctx: Context) -> list[Entry]:
    """Training objectives: STAR and its finetunes STAR-ST, STAR-S, STAR-T (= STAR-T_LR), each scored on the
    outputs it is trained for."""
    bench = test_benchmarks(ctx.profile)
    rows = [("STAR", "STAR", "STAR"), ("STAR-ST", "STAR-ST", "STAR-ST"), ("STAR-S", "STAR-S", "STAR-S"),
            ("STAR-T_LR", "STAR-T_LR", "STAR-T")]
    return [trained_entry(ctx.profile, label, objective, None, bench, OBJECTIVE_OUTPUTS[objective],
                          paper_method=paper, note=PAPER_SETUP, **ctx.kw)[0]
            for label, objective, paper in rows]


def table3(ctx: Context, vgg_weights: str | None = None) -> list[Entry]:
    """L_f (with the VGG19 perceptual term) vs L_r, STAR-ST, with NIQE. Without local VGG19 ImageNet weights
    the L_f row is reported as not run (a randomly initialised VGG would not be the paper's loss)."""
    from starlib.train.losses import VGGWeightsMissing, find_vgg19_weights

    bench = test_benchmarks(ctx.profile)
    outputs = ("sr_t", "sr_mid")
    lr_entry = trained_entry(ctx.profile, "STAR-ST L_r", "STAR-ST", None, bench, outputs, niqe=True,
                             paper_method="STAR-ST L_r", **ctx.kw)[0]
    try:
        find_vgg19_weights(vgg_weights)
    except VGGWeightsMissing as err:
        reason = "not run: VGG19 ImageNet weights missing (" + str(err).split(";")[0] + ")"
        lf_entry = Entry("STAR-ST L_f", None, "STAR-ST L_f", status=reason.split(" (")[0], outputs=outputs,
                         note="needs torchvision's vgg19-dcbb9e9d.pth (STARLIB_VGG19 or the torch cache)")
        return [lf_entry, lr_entry]
    lf_entry = trained_entry(ctx.profile, "STAR-ST L_f", "STAR-ST", None, bench, outputs, niqe=True,
                             paper_method="STAR-ST L_f", note="finetuned from STAR (L_r) with L_f",
                             perceptual_weight=0.1, **ctx.kw)[0]
    return [lf_entry, lr_entry]


def ablation_objective(profile: Profile) -> str:
    """Objective of the Table 4 and 6 networks: the paper's STAR-ST, or STAR where the profile says so
    (``[tables] t46_objective``; the ``cpu`` profile saves the four extra finetunes)."""
    return profile.sections.get("tables", {}).get("t46_objective", "STAR-ST")


def table4(ctx: Context) -> list[Entry]:
    """Net_S = DBPN vs RBPN (STAR-ST in the paper; see :func:`ablation_objective`)."""
    bench = ablation_benchmarks(ctx.profile)
    objective = ablation_objective(ctx.profile)
    note = "" if objective == "STAR-ST" else f"trained with the {objective} objective (paper: STAR-ST)"
    rows = [("Net_S = DBPN", "STAR-ST with DBPN", {"net_s": "dbpn"}), ("Net_S = RBPN", "STAR-ST with RBPN", {})]
    return [trained_entry(ctx.profile, label, objective, variant, bench, ("sr_t", "sr_mid"), paper_method=paper,
                          note=note, **ctx.kw)[0] for label, paper, variant in rows]


def table6(ctx: Context) -> list[Entry]:
    """T-SR paths of Net_ST: none, on S-HR, on S-LR, both (STAR-ST with FR in the paper)."""
    bench = ablation_benchmarks(ctx.profile)
    objective = ablation_objective(ctx.profile)
    note = "" if objective == "STAR-ST" else f"trained with the {objective} objective (paper: STAR-ST)"
    return [trained_entry(ctx.profile, label, objective, {"tsr_paths": paths}, bench, ("sr_t", "sr_mid"),
                          paper_method=paper, note=note, **ctx.kw)[0]
            for label, (paper, paths) in TABLE6.items()]


# --- Table 5: 4x frame rate ------------------------------------------------------------------------

def septuplet_windows(profile: Profile) -> tuple[list[FrameStack], str]:
    """Five-frame windows for 4x T-SR: Vimeo90K septuplets (frames 1-5) in ``paper`` when available, else
    the embedded TOFlow clip (12 frames; windows start every 2 frames), centre-cropped to
    ``[tables] t5_crop`` HR pixels. LR frames by the profile's 4x bicubic downscaling."""
    cfg = profile.sections.get("tables", {})
    crop = cfg.get("t5_crop", [256, 256])
    limit = cfg.get("t5_max_windows", 0)
    data = profile.sections.get("data", {})
    if profile.name == "paper" and data.get("vimeo_root"):
        from starlib.data import vimeo90k

        windows = [w for w in vimeo90k(data["vimeo_root"], "test", "septuplet")]
        frames = [list(w.frames)[:5] for w in windows]
        names, tag = [w.name for w in windows], "vimeo90k-septuplet-test"
    else:
        clip = frame_folder(data_root() / "train" / "toflow_clip" / "frames", "toflow")
        paths = list(clip.frames) if hasattr(clip, "frames") else list(clip)
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


def table5(ctx: Context) -> tuple[list[Entry], str]:
    """4x frame rate from frames 1 and 5 of five-frame windows (paper Table 5):
    (1) STAR-ST at 2x space, twice (2x2 = 4x space, 2x2 = 4x time);
    (2) STAR-ST at 4x space (frames 1, 3, 5), then STAR-T_HR between the SR frames (frames 2, 4).
    Outputs: ``sr_t`` = frames 1 and 5, ``sr_mid`` = frames 2, 3, 4; one score row per frame."""
    from starlib.infer.tiling import STARMethod
    from starlib.study.recipes import flow_cache, train_model

    prof, kw = ctx.profile, ctx.kw
    cache = flow_cache(prof, ctx.cache_dir)
    tile = prof.sections.get("eval", {}).get("tile_hr", 0)
    st4 = train_model(prof, "STAR-ST", None, **kw)
    thr = train_model(prof, "STAR-T_HR", None, **kw)
    st2 = train_model(prof, "STAR-ST", {"scale": 2}, **kw)
    m_st4 = STARMethod(st4.model, cache)
    m_thr = STARMethod(thr.model, cache, inputs="hr", tile=tile)
    m_st2 = STARMethod(st2.model, cache)
    stacks, tag = septuplet_windows(prof)
    rows: dict[str, list[dict]] = {"(1) STAR-ST -> STAR-ST": [], "(2) STAR-ST -> STAR-T_HR": []}
    for stack in tqdm(stacks, desc="Table 5", disable=not ctx.progress):
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
        for label, frames in (("(1) STAR-ST -> STAR-ST", path1), ("(2) STAR-ST -> STAR-T_HR", path2)):
            for i, (pred, gt) in enumerate(zip(frames, stack.hr)):
                rows[label].append({"dataset": tag.split(" ")[0], "item": f"{stack.name}/f{i + 1}",
                                    "output": "sr_t" if i in (0, 4) else "sr_mid",
                                    "psnr": M.psnr(gt, pred), "ssim": M.ssim_matlab3d(gt, pred),
                                    "psnr_y": M.psnr_y(gt, pred), "ssim_y": M.ssim_y(gt, pred)})
    note = "frames scored one by one (5 per window); models trained on triplets (the paper: septuplets)"
    entries = [Entry("(1) STAR-ST -> STAR-ST", pd.DataFrame(rows["(1) STAR-ST -> STAR-ST"]), "STAR-ST -> STAR-ST",
                     note, info={"runs": st2.run_dir.name}),
               Entry("(2) STAR-ST -> STAR-T_HR", pd.DataFrame(rows["(2) STAR-ST -> STAR-T_HR"]), "STAR-ST -> STAR-T",
                     note, info={"runs": f"{st4.run_dir.name}+{thr.run_dir.name}"})]
    return entries, tag


@torch.no_grad()
def refined_flows(model: Any, stack: FrameStack, cache: Any) -> dict[str, np.ndarray]:
    """Fig. 5's three flows F_{t->t+1} on the LR frames, in pixels: (a) from I_t and I_t+1, (b) the same after
    the model's FR, (c) through the true middle frame (FR's training target)."""
    from starlib.data.degrade import flow_to_tensor, to_tensor
    from starlib.data.samples import flow_pair, fr_targets
    from starlib.flow import denormalize_flow

    a, mid, b = stack.lr[0], stack.lr[len(stack.lr) // 2], stack.lr[-1]
    fwd, bwd = flow_pair(a, b, cache)
    t = lambda x: flow_to_tensor(x)[None]  # noqa: E731
    refined = model.flow_net.refine(t(fwd), to_tensor(a)[None], to_tensor(b)[None])[0].permute(1, 2, 0).numpy()
    gt_fwd, _ = fr_targets(a, mid, b, cache)
    return {"(a) flow from I_t, I_t+1": denormalize_flow(fwd), "(b) refined by FR": denormalize_flow(refined),
            "(c) through the true I_t+": denormalize_flow(gt_fwd)}


def figure5(ctx: Context, window: Any) -> Any:
    """Fig. 5: flows without FR, refined by FR, and through the true middle frame, with I_t+^sr of the
    models trained without and with FR (zoomed where the model without FR errs most)."""
    from starlib.data import load_window
    from starlib.infer.tiling import STARMethod
    from starlib.study.figures import flow_panels, worst_crop
    from starlib.study.recipes import flow_cache, train_model

    cache = flow_cache(ctx.profile, ctx.cache_dir)
    full = train_model(ctx.profile, "STAR", None, **ctx.kw)
    no_fr = train_model(ctx.profile, "STAR", {"flow_refine": False}, **ctx.kw)
    stack = load_window(window, ctx.profile.model.scale)
    flows = refined_flows(full.model.eval(), stack, cache)
    gt = stack.hr[len(stack.hr) // 2]
    preds = {"I_t+^sr w/o FR": STARMethod(no_fr.model, cache)(stack)["sr_mid"],
             "I_t+^sr with FR": STARMethod(full.model, cache)(stack)["sr_mid"]}
    y, x, k = worst_crop(np.abs(preds["I_t+^sr w/o FR"].astype(np.float32) - gt).mean(-1), 96)
    frames = {name: img[y:y + k, x:x + k] for name, img in preds.items()} | {"ground truth": gt[y:y + k, x:x + k]}
    psnrs = {name: M.psnr(gt, img) for name, img in preds.items()}
    title = (f"{window.name}: flows on the LR frames (shared colour scale) and I_t+^sr crops; frame PSNR "
             + ", ".join(f"{k}: {v:.2f} dB" for k, v in psnrs.items()))
    return flow_panels(flows, frames, title)
