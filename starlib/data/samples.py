"""From frame files to network inputs: evaluation samples and random training crops.

Layouts: frames are (H, W, 3) uint8 in NumPy and (3, H, W) float32 normalised in torch; flows are
(H, W, 2) float32 pixels in NumPy and (2, h, w) normalised (``-clip(px, +-150)/150``) in torch.
For a window of L frames (L odd) the model sees frames 0 and L-1; frame L//2 is the in-between target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from starlib.flow import FlowCache, fr_ground_truth, normalize_flow

from .degrade import flow_to_tensor, make_lr, to_tensor
from .images import read_frames
from .sources import Window


@dataclass
class FrameStack:
    """One window read from disk: HR frames (modcropped) and their LR versions, all uint8."""

    name: str
    hr: list[np.ndarray]   # L x (H, W, 3)
    lr: list[np.ndarray]   # L x (H/s, W/s, 3)


def load_window(window: Window, scale: int = 4, lr_method: str = "pil") -> FrameStack:
    """Read a window's frames (same size required), modcrop to ``scale`` and make LR frames."""
    frames = read_frames(list(window.frames))
    pairs = [make_lr(f, scale, lr_method) for f in frames]
    return FrameStack(window.name, [p[0] for p in pairs], [p[1] for p in pairs])


def flow_pair(first: np.ndarray, last: np.ndarray, cache: FlowCache) -> tuple[np.ndarray, np.ndarray]:
    """Normalised (F_{first->last}, F_{last->first}), each (H, W, 2) float32."""
    return normalize_flow(cache(first, last)), normalize_flow(cache(last, first))


def fr_targets(first: np.ndarray, middle: np.ndarray, last: np.ndarray,
               cache: FlowCache) -> tuple[np.ndarray, np.ndarray]:
    """Flow-refinement targets through the true middle frame (eq. 15, spec 5.4), normalised, from the cache."""
    return fr_ground_truth(first, middle, last, flow_fn=cache)


class EvalWindows(Dataset):
    """Test samples: full frames, LR inputs made on the fly, flows from the cache.

    Item: ``{"index", "lr_t", "lr_t1" (3, h, w), "flow_fwd", "flow_bwd" (2, h, w)}``; the uint8 frames for
    scoring come from :meth:`frames` (``hr`` and ``lr`` lists of the window, modcropped).
    ``inputs="hr"`` feeds the HR frames instead (STAR-T_HR: interpolation at the input resolution).
    """

    def __init__(self, windows: Sequence[Window], scale: int = 4, lr_method: str = "pil",
                 normalization: str = "imagenet", flow_cache: FlowCache | None = None, inputs: str = "lr") -> None:
        if inputs not in ("lr", "hr"):
            raise ValueError(f"inputs must be 'lr' or 'hr', got {inputs!r}")
        self.windows = list(windows)
        self.scale, self.lr_method, self.normalization, self.inputs = scale, lr_method, normalization, inputs
        self.flow_cache = flow_cache if flow_cache is not None else FlowCache()

    def __len__(self) -> int:
        return len(self.windows)

    def frames(self, index: int) -> FrameStack:
        return load_window(self.windows[index], self.scale, self.lr_method)

    def __getitem__(self, index: int) -> dict:
        stack = self.frames(index)
        seq = stack.lr if self.inputs == "lr" else stack.hr
        first, last = seq[0], seq[-1]
        fwd, bwd = flow_pair(first, last, self.flow_cache)
        return {"index": index,
                "lr_t": to_tensor(first, self.normalization), "lr_t1": to_tensor(last, self.normalization),
                "flow_fwd": flow_to_tensor(fwd), "flow_bwd": flow_to_tensor(bwd)}


# --- training crops ----------------------------------------------------------------------------------

def _augment_image(img: np.ndarray, hflip: bool, vflip: bool) -> np.ndarray:
    if hflip:
        img = img[:, ::-1]
    if vflip:
        img = img[::-1]
    return img


def _augment_flow(flow: np.ndarray, hflip: bool, vflip: bool) -> np.ndarray:
    """Flip a flow field with its frames: mirroring x negates u, flipping y negates v (any units)."""
    flow = _augment_image(flow, hflip, vflip).copy()
    if hflip:
        flow[..., 0] *= -1
    if vflip:
        flow[..., 1] *= -1
    return flow


@dataclass
class _Prepared:
    name: str
    hr: list[np.ndarray]
    lr: list[np.ndarray]
    flow_fwd: np.ndarray
    flow_bwd: np.ndarray
    gt_fwd: np.ndarray | None
    gt_bwd: np.ndarray | None


class RandomCropWindows(Dataset):
    """Training samples from real clips: random aligned crops of consecutive-frame windows.

    Per window, LR frames and flows are made once on the full frame (flows from the cache), then every
    item crops the same LR patch (``patch`` px; 0 = the full frame, as the authors train) and the matching HR patch (``scale * patch`` px) from all
    frames and flows, and applies the paper's augmentations with one set of coins for all of them:
    left-right mirror, top-bottom flip, 180-degree rotation (each p = 0.5; spec 5.6).

    Flows of cropped/flipped frames are taken as the crop/flip of the full-frame flow (the authors recompute
    flow on every augmented crop; for a global flip the two agree up to the flow method's asymmetries).
    ``flow_on="hr"`` computes the flows on HR frames (STAR-T_HR, whose inputs are HR crops).
    ``static_prob``: the fraction of items made static (a small-budget switch, 0 in ``paper``): every frame is
    the window's first, every flow zero, so the true in-between frame is the input and the network learns to add
    nothing where nothing moves (near-static test items, UCF101's many). The coin is drawn after all the other
    random numbers, so the moving items are the same as with ``static_prob=0``.

    Item i of epoch e is a pure function of ``(seed, e, i)``: set :attr:`epoch` before each epoch.
    Keys: ``lr`` (L, 3, p, p), ``hr`` (L, 3, sp, sp), ``flow_fwd``/``flow_bwd`` (2, ., .), and with
    ``with_fr_targets=True`` ``flow_fwd_gt``/``flow_bwd_gt``.
    """

    def __init__(self, windows: Sequence[Window], patch: int = 32, scale: int = 4, samples_per_epoch: int = 1000,
                 augment: bool = True, lr_method: str = "pil", normalization: str = "imagenet",
                 flow_cache: FlowCache | None = None, with_fr_targets: bool = True, flow_on: str = "lr",
                 seed: int = 0, static_prob: float = 0.0) -> None:
        if flow_on not in ("lr", "hr"):
            raise ValueError(f"flow_on must be 'lr' or 'hr', got {flow_on!r}")
        if not 0.0 <= static_prob <= 1.0:
            raise ValueError(f"static_prob is a probability in [0, 1], got {static_prob}")
        self.static_prob = static_prob
        if not windows:
            raise ValueError("RandomCropWindows needs at least one window")
        lengths = {len(w.frames) for w in windows}
        if len(lengths) != 1 or min(lengths) % 2 == 0:
            raise ValueError(f"all windows must have the same odd length, got lengths {sorted(lengths)}")
        self.patch, self.scale, self.samples_per_epoch = patch, scale, samples_per_epoch
        self.augment, self.normalization, self.flow_on, self.seed = augment, normalization, flow_on, seed
        self.epoch = 0
        cache = flow_cache if flow_cache is not None else FlowCache()
        self.items: list[_Prepared] = []
        for w in windows:
            stack = load_window(w, scale, lr_method)
            seq = stack.lr if flow_on == "lr" else stack.hr
            min_side = min(seq[0].shape[:2])
            if patch and min_side < patch:
                raise ValueError(f"window {w.name}: {flow_on.upper()} frames of {seq[0].shape[1]}x"
                                 f"{seq[0].shape[0]} are smaller than the {patch}-px patch")
            fwd, bwd = flow_pair(seq[0], seq[-1], cache)
            gfwd, gbwd = (fr_targets(seq[0], seq[len(seq) // 2], seq[-1], cache) if with_fr_targets
                          else (None, None))
            self.items.append(_Prepared(w.name, stack.hr, stack.lr, fwd, bwd, gfwd, gbwd))

    def __len__(self) -> int:
        return self.samples_per_epoch

    @property
    def frame_sizes(self) -> set[tuple[int, int]]:
        """The (height, width) of the frames crops are taken from (LR or HR, as ``flow_on``), one per size."""
        return {(it.lr if self.flow_on == "lr" else it.hr)[0].shape[:2] for it in self.items}

    def __getitem__(self, index: int) -> dict:
        return self._make(np.random.default_rng([self.seed, self.epoch, index]))

    def sample(self, step: int, j: int) -> dict:
        """Item ``j`` of training step ``step``: a pure function of ``(seed, step, j)`` (exact resume)."""
        return self._make(np.random.default_rng([self.seed, 1_000_003, step, j]))

    def batch(self, step: int, indices: range | list[int]) -> dict[str, torch.Tensor]:
        """Stack :meth:`sample` items into a batch: every tensor gets a leading batch dimension."""
        items = [self.sample(step, j) for j in indices]
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}

    def _make(self, rng: np.random.Generator) -> dict:
        item = self.items[int(rng.integers(len(self.items)))]
        s = self.scale
        ref = item.lr[0] if self.flow_on == "lr" else item.hr[0]
        h, w = ref.shape[:2]
        ph, pw = (h, w) if self.patch == 0 else (self.patch, self.patch)   # patch 0 = full frames
        y, x = int(rng.integers(h - ph + 1)), int(rng.integers(w - pw + 1))
        if self.flow_on == "lr":
            lr_box, hr_box = (y, x, ph, pw), (s * y, s * x, s * ph, s * pw)
        else:  # HR inputs: the crop is taken from the HR frames, which are both inputs and targets
            lr_box, hr_box = None, (y, x, ph, pw)
        flow_box = (y, x, ph, pw)
        coins = rng.random(3) < 0.5 if self.augment else np.zeros(3, bool)
        hflip = bool(coins[0]) != bool(coins[2])   # rotation by 180 degrees = both flips
        vflip = bool(coins[1]) != bool(coins[2])

        def crop(a: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
            yy, xx, hh, ww = box
            return a[yy:yy + hh, xx:xx + ww]

        hr = [_augment_image(crop(f, hr_box), hflip, vflip) for f in item.hr]
        out = {"hr": torch.stack([to_tensor(f, self.normalization) for f in hr])}
        if lr_box is not None:
            lr = [_augment_image(crop(f, lr_box), hflip, vflip) for f in item.lr]
            out["lr"] = torch.stack([to_tensor(f, self.normalization) for f in lr])
        for key, flow in (("flow_fwd", item.flow_fwd), ("flow_bwd", item.flow_bwd),
                          ("flow_fwd_gt", item.gt_fwd), ("flow_bwd_gt", item.gt_bwd)):
            if flow is not None:
                out[key] = flow_to_tensor(_augment_flow(crop(flow, flow_box), hflip, vflip))
        if self.static_prob > 0 and rng.random() < self.static_prob:   # last draw: see the class docstring
            out = {k: (v[:1].expand_as(v).clone() if k in ("hr", "lr") else torch.zeros_like(v))
                   for k, v in out.items()}                            # frames (L, 3, ., .): all the first
        return out
