"""NIQE (Mittal, Soundararajan, Bovik, IEEE SPL 2013) as LIVE's ``niqe_release`` computes it.

Follows ``computequality(im, 96, 96, 0, 0, mu_prisparam, cov_prisparam)``, ``computefeature.m``
and ``estimateaggdparam.m`` of the LIVE release (the copy STARnet's ``evaluate.m`` runs):

1. RGB -> MATLAB ``rgb2gray`` (uint8, rounded); 2-D uint8 is used as is; then double.
2. Crop (top-left) to whole 96x96 blocks.
3. At two scales (full, then ``imresize(im, 0.5)`` bicubic, antialiased, on the double image):
   MSCN coefficients ``(im - mu) / (sigma + 1)`` with a 7x7 Gaussian (sigma 7/6, normalised,
   'replicate' borders), then per block (96x96 at scale 1, 48x48 at scale 2, no overlap)
   18 features: the AGGD fit of the coefficients (alpha, (beta_l + beta_r) / 2) and, for the
   circular shifts [0 1], [1 0], [1 1], [1 -1], the AGGD fit of the pairwise products
   (alpha, mean, beta_l, beta_r) with mean = (beta_r - beta_l) Gamma(2/alpha) / Gamma(1/alpha).
   The AGGD fit is LIVE's moment matching over the grid alpha = 0.2:0.001:10.
4. Fit a Gaussian to the 36-D block features (``nanmean``; ``nancov`` drops rows with a NaN)
   and return sqrt((mu_p - mu_d) pinv((cov_p + cov_d) / 2) (mu_p - mu_d)').

Note: the release's ``computefeature.m`` uses the AGGD fit (not BRISQUE's GGD fit with
(alpha, sigma^2)) for the first two features and stores beta_l, beta_r unsquared; BRISQUE's
``brisque_feature.m`` differs on exactly these points and is not what NIQE runs.
"""

from __future__ import annotations

import functools
import math
from importlib import resources

import numpy as np
from scipy.ndimage import correlate
from scipy.special import gamma

from starlib.util.imresize import imresize_matlab
from ._checks import check_image
from .color import rgb_to_gray

_BLOCK = 96
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
_N_GRID = 9801  # 0.2:0.001:10


@functools.lru_cache(maxsize=1)
def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    """LIVE pristine model: mu (36,), cov (36, 36), read once from ``data/niqe_pris_params.npz``."""
    path = resources.files(__package__).joinpath("data", "niqe_pris_params.npz")
    with path.open("rb") as fh, np.load(fh) as params:
        mu = params["mu_pris_param"].astype(np.float64).reshape(-1)
        cov = params["cov_pris_param"].astype(np.float64)
    return mu, cov


@functools.lru_cache(maxsize=1)
def _aggd_grid() -> tuple[np.ndarray, np.ndarray]:
    """The alpha grid and LIVE's r(alpha) = Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))."""
    alpha = 0.2 + 0.001 * np.arange(_N_GRID, dtype=np.float64)
    r = gamma(2.0 / alpha) ** 2 / (gamma(1.0 / alpha) * gamma(3.0 / alpha))
    return alpha, r


def _gaussian_window_7x7() -> np.ndarray:
    """``window = fspecial('gaussian', 7, 7/6); window = window / sum(sum(window))`` (LIVE)."""
    x = np.arange(-3, 4, dtype=np.float64)
    h = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2.0 * (7.0 / 6.0) ** 2))
    h[h < np.finfo(np.float64).eps * h.max()] = 0.0  # fspecial's cut (no-op at this size)
    h = h / h.sum()
    return h / h.sum()


def _smooth(im: np.ndarray) -> np.ndarray:
    """``imfilter(im, window, 'replicate')``: 2-D correlation with the 7x7 window.

    Filtered non-separably on purpose: MATLAB's ``imfilter`` only switches to two 1-D passes
    for double kernels of 150 elements or more, and on exactly flat regions the summation
    order decides the sign of the ~1e-14 residual ``im - mu`` (see ``niqe``).
    """
    return correlate(im, _gaussian_window_7x7(), mode="nearest")


def mscn(im: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients of a float64 HxW image (0..255)."""
    mu = _smooth(im)
    sigma = np.sqrt(np.abs(_smooth(im * im) - mu * mu))
    return (im - mu) / (sigma + 1.0)


def aggd_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LIVE ``estimateaggdparam`` on each row of x (N, n): alpha, beta_l, beta_r, each (N,).

    A row without negative (or positive) values gives NaN betas, as in MATLAB (mean of an
    empty set); its alpha is then the first grid value, as MATLAB's ``min`` over all-NaN gives.
    """
    alpha_grid, r_grid = _aggd_grid()
    sq = x * x
    neg, pos = x < 0, x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        left_std = np.sqrt(np.where(neg, sq, 0.0).sum(axis=1) / neg.sum(axis=1))
        right_std = np.sqrt(np.where(pos, sq, 0.0).sum(axis=1) / pos.sum(axis=1))
        g = left_std / right_std
        rhat = np.mean(np.abs(x), axis=1) ** 2 / np.mean(sq, axis=1)
        rhatnorm = rhat * (g**3 + 1.0) * (g + 1.0) / (g**2 + 1.0) ** 2
        best = np.argmin((r_grid[None, :] - rhatnorm[:, None]) ** 2, axis=1)
    alpha = alpha_grid[best]
    scale = np.sqrt(gamma(1.0 / alpha) / gamma(3.0 / alpha))
    return alpha, left_std * scale, right_std * scale


def _blocks(im: np.ndarray, size: int) -> np.ndarray:
    """Split HxW (multiples of ``size``) into (n_blocks, size, size), row-major block order."""
    h, w = im.shape
    return im.reshape(h // size, size, w // size, size).transpose(0, 2, 1, 3).reshape(-1, size, size)


def block_features(structdis: np.ndarray, size: int) -> np.ndarray:
    """LIVE ``computefeature`` for every ``size`` x ``size`` block: (n_blocks, 18)."""
    blocks = _blocks(structdis, size)
    n = blocks.shape[0]
    alpha, bl, br = aggd_fit(blocks.reshape(n, -1))
    feats = [alpha, (bl + br) / 2.0]
    for shift in _SHIFTS:
        pair = blocks * np.roll(blocks, shift, axis=(1, 2))  # MATLAB circshift within the block
        alpha, bl, br = aggd_fit(pair.reshape(n, -1))
        mean = (br - bl) * (gamma(2.0 / alpha) / gamma(1.0 / alpha))
        feats += [alpha, mean, bl, br]
    return np.stack(feats, axis=1)


def _pinv_matlab(a: np.ndarray) -> np.ndarray:
    """MATLAB ``pinv``: SVD, singular values above max(size) * eps(norm) kept."""
    u, s, vt = np.linalg.svd(a)
    tol = max(a.shape) * np.spacing(s.max())
    inv_s = np.where(s > tol, 1.0 / np.where(s > tol, s, 1.0), 0.0)
    return (vt.T * inv_s) @ u.T


def _to_gray_float(img: np.ndarray) -> np.ndarray:
    check_image(img, name="img")
    if img.ndim == 3:
        if img.shape[2] != 3:
            raise ValueError(f"niqe expects HxW or HxWx3 uint8, got shape {img.shape}")
        img = rgb_to_gray(img)
    return img.astype(np.float64)


def niqe(img: np.ndarray) -> float:
    """NIQE of one uint8 image (HxWx3 RGB or HxW gray); lower is better.

    The image must hold at least two 96x96 blocks (e.g. 96x192; with one block MATLAB's
    ``nanmean``/``nancov`` would average over the 36 features instead of over blocks); rows and
    columns beyond the last whole block (bottom, right) are ignored, as in LIVE's code. Returns
    NaN when fewer than two blocks have finite features (flat images).

    Exactly flat 7x7 neighbourhoods make (im - mu) a rounding residual of ~1e-14 whose sign
    decides on which side of the AGGD fit the pixel counts, so on images with large flat areas
    implementations that sum the local mean in a different order (MATLAB included) can differ
    by ~1e-2. Elsewhere the result is exact to float64 rounding.
    """
    im = _to_gray_float(img)
    nh, nw = im.shape[0] // _BLOCK, im.shape[1] // _BLOCK
    if nh * nw < 2:
        raise ValueError(f"niqe needs at least two 96x96 blocks, got an image of shape {img.shape}")
    im = im[: nh * _BLOCK, : nw * _BLOCK]
    feats = []
    for scale in (1, 2):
        feats.append(block_features(mscn(im), _BLOCK // scale))
        if scale == 1:
            im = imresize_matlab(im, 0.5)
    feats = np.concatenate(feats, axis=1)

    complete = feats[~np.isnan(feats).any(axis=1)]  # the rows MATLAB's nancov keeps
    if complete.shape[0] < 2:  # e.g. a constant frame: no covariance to fit
        return math.nan
    mu_p, cov_p = pristine_model()
    mu_d = np.nanmean(feats, axis=0)
    cov_d = np.cov(complete, rowvar=False)
    d = mu_p - mu_d
    return float(np.sqrt(d @ _pinv_matlab((cov_p + cov_d) / 2.0) @ d))
