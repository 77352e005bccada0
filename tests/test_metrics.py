"""Metric conventions: closed forms, hand cases, scikit-image and BasicSR 1.4.2 reference values.

Reference literals below were computed once with BasicSR 1.4.2 (the basicsr-1.4.2 sdist, unpacked;
its modules loaded by file path with stubs for ``basicsr.utils.registry`` and friends, torch 2.14.1,
numpy 2.4.6, scipy 1.17.1). BasicSR is not a dependency, so the tests only compare against those
literals; when the sdist happens to be unpacked at ``/tmp/bsr`` an extra test also compares
``imresize_matlab`` with BasicSR's ``imresize`` on whole arrays.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import correlate, gaussian_filter
from skimage import color as skcolor
from skimage import data
from skimage.metrics import structural_similarity

from starlib.util.imresize import imresize_matlab
from starlib.metrics import (
    ie_mae,
    ie_rms_middlebury,
    ie_starnet_code,
    niqe,
    psnr,
    psnr_y,
    rgb_to_gray,
    rgb_to_y,
    ssim_matlab3d,
    ssim_per_channel,
    ssim_y,
)
from starlib.metrics.niqe_live import _gaussian_window_7x7, pristine_model

C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2
DATA_DIR = Path(__file__).resolve().parents[1] / "starlib" / "metrics" / "data"
BASICSR_MATLAB_FUNCTIONS = Path("/tmp/bsr/basicsr-1.4.2/basicsr/utils/matlab_functions.py")


def _hash_noise(h: int, w: int, c: int) -> np.ndarray:
    """Deterministic noise-like float image in [0, 1] (no RNG, so it is stable across numpy versions)."""
    i, j, k = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    return ((i * 7919 + j * 104729 + k * 1299709) % 1009) / 1008.0


def _degrade(img: np.ndarray, sigma: float, noise: float, seed: int = 0) -> np.ndarray:
    """Gaussian blur (spatial axes only) plus Gaussian noise, rounded back to uint8."""
    rng = np.random.default_rng(seed)
    spatial = (sigma, sigma) + (0,) * (img.ndim - 2)
    out = gaussian_filter(img.astype(np.float64), spatial) + noise * rng.standard_normal(img.shape)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _rng_pair(shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, shape, dtype=np.uint8), rng.integers(0, 256, shape, dtype=np.uint8))


# ----------------------------------------------------------------------------- input contract


@pytest.mark.parametrize("fn", [psnr, ssim_matlab3d, ssim_per_channel, ie_mae, ie_rms_middlebury,
                                ie_starnet_code, psnr_y, ssim_y])
def test_float_input_is_rejected_with_a_rounding_hint(fn):
    gt = data.astronaut()[:32, :32]
    with pytest.raises(ValueError, match=r"uint8.*float64.*round"):
        fn(gt, gt.astype(np.float64) / 255.0)


@pytest.mark.parametrize("fn", [psnr, ssim_matlab3d, ssim_per_channel, ie_mae, ie_rms_middlebury,
                                ie_starnet_code, psnr_y, ssim_y])
def test_shape_mismatch_is_rejected(fn):
    gt = data.astronaut()[:32, :32]
    with pytest.raises(ValueError, match=r"same shape.*\(32, 32, 3\).*\(32, 31, 3\)"):
        fn(gt, gt[:, :31])


def test_y_metrics_need_rgb_and_niqe_needs_two_blocks():
    gray = data.camera()
    with pytest.raises(ValueError, match="HxWx3"):
        psnr_y(gray, gray)
    with pytest.raises(ValueError, match="two 96x96 blocks"):
        niqe(gray[:150, :150])
    with pytest.raises(ValueError, match="uint8"):
        niqe(gray.astype(np.float32))
    with pytest.raises(ValueError, match="11x11"):
        ssim_per_channel(gray[:10, :40], gray[:10, :40])


# ----------------------------------------------------------------------------- colour


def test_rgb_to_y_known_colours():
    colours = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    y = rgb_to_y(colours)
    assert y.dtype == np.uint8
    # 16 + 219 = 235; 16; 16 + 65.481; 16 + 128.553; 16 + 24.966 (MATLAB rounds half away from zero)
    np.testing.assert_array_equal(y[0], [235, 16, 81, 145, 41])


def test_rgb_to_y_is_skimage_ycbcr_rounded_except_exact_ties():
    img = data.astronaut()
    expected = np.floor(skcolor.rgb2ycbcr(img)[..., 0] + 0.5)
    # Exact ties (Y = k + 0.5 in exact arithmetic, e.g. RGB (146, 124, 97)) are decided by the
    # float64 evaluation order; we follow imlincomb's left-to-right sum, skimage uses a matmul.
    rgb = img.astype(np.int64)
    tie = (65481 * rgb[..., 0] + 128553 * rgb[..., 1] + 24966 * rgb[..., 2]) % 255000 == 127500
    assert 0 < tie.sum() < 5
    np.testing.assert_array_equal(rgb_to_y(img)[~tie], expected[~tie])
    assert np.all(np.abs(rgb_to_y(img)[tie] - expected[tie]) <= 1)


def test_rgb_to_gray_known_colours_and_gray_passthrough():
    colours = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    # 0.298936 * 255 = 76.23, 0.587043 * 255 = 149.70, 0.114021 * 255 = 29.08
    np.testing.assert_array_equal(rgb_to_gray(colours)[0], [255, 0, 76, 150, 29])
    gray = data.camera()
    np.testing.assert_array_equal(rgb_to_gray(np.repeat(gray[..., None], 3, axis=2)), gray)


# ----------------------------------------------------------------------------- PSNR


def test_psnr_identical_is_inf():
    img = data.astronaut()
    assert psnr(img, img) == math.inf
    assert psnr_y(img, img) == math.inf


@pytest.mark.parametrize("d", [1, 3, 10])
def test_psnr_constant_offset(d):
    gt = np.clip(data.astronaut(), 0, 255 - d)  # no saturation when adding d
    pred = gt + np.uint8(d)
    assert psnr(gt, pred) == pytest.approx(10 * math.log10(255**2 / d**2), abs=1e-12)
    assert psnr(pred, gt) == pytest.approx(psnr(gt, pred), abs=1e-12)


def test_psnr_mse_runs_over_all_channels():
    gt = np.zeros((4, 4, 3), np.uint8)
    pred = gt.copy()
    pred[..., 0] = 6  # MSE = 36 / 3 = 12 over all channels
    assert psnr(gt, pred) == pytest.approx(10 * math.log10(255**2 / 12), abs=1e-12)


# ----------------------------------------------------------------------------- SSIM


def test_ssim_identical_is_one():
    img = data.astronaut()
    assert ssim_matlab3d(img, img) == pytest.approx(1.0, abs=1e-15)
    assert ssim_per_channel(img, img) == pytest.approx(1.0, abs=1e-15)
    assert ssim_y(img, img) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("a, b", [(0, 255), (10, 200), (128, 129), (77, 77)])
def test_ssim_matlab3d_constant_images(a, b):
    gt = np.full((20, 24, 3), a, np.uint8)
    pred = np.full((20, 24, 3), b, np.uint8)
    expected = (2 * a * b + C1) / (a * a + b * b + C1)  # variances and covariance are zero
    assert ssim_matlab3d(gt, pred) == pytest.approx(expected, rel=1e-12)
    assert ssim_per_channel(gt, pred) == pytest.approx(expected, rel=1e-12)


def test_ssim_matlab3d_equals_dense_3d_kernel():
    """Older MATLAB ``ssim`` releases filtered with a dense 11x11x11 Gaussian (``imfilter``,
    replicate); later ones call ``imgaussfilt3`` (separable). Both must give the same number."""
    gt, pred = _rng_pair((23, 19, 3), seed=1)
    r = np.arange(-5, 6)
    z, y, x = np.meshgrid(r, r, r, indexing="ij")
    kernel = np.exp(-(x * x + y * y + z * z) / (2 * 1.5**2))
    kernel /= kernel.sum()

    def filt(v):
        return correlate(v, kernel, mode="nearest")

    a, b = gt.astype(np.float64), pred.astype(np.float64)
    ma, mb = filt(a), filt(b)
    va, vb, cab = filt(a * a) - ma**2, filt(b * b) - mb**2, filt(a * b) - ma * mb
    smap = (2 * ma * mb + C1) * (2 * cab + C2) / ((ma**2 + mb**2 + C1) * (va + vb + C2))
    assert ssim_matlab3d(gt, pred) == pytest.approx(smap.mean(), abs=1e-12)


def test_ssim_matlab3d_window_spans_colour_axis():
    """With three identical channels the colour-axis filter is an identity (normalised taps,
    replicate padding), so the 3-D SSIM equals MATLAB's 2-D SSIM of one channel; with
    different channels the colour axis mixes them and the result is not the per-channel mean."""
    g1 = data.camera()[::4, ::4]
    g2 = _degrade(g1, 1.0, 8.0)
    def rep(g):
        return np.repeat(g[..., None], 3, axis=2)

    assert ssim_matlab3d(rep(g1), rep(g2)) == pytest.approx(ssim_matlab3d(g1, g2), abs=1e-12)

    gt = data.astronaut()[::4, ::4]
    pred = _degrade(gt, 1.0, 8.0)
    per_channel_same = np.mean([ssim_matlab3d(gt[..., c], pred[..., c]) for c in range(3)])
    assert abs(ssim_matlab3d(gt, pred) - per_channel_same) > 1e-4


def test_ssim_matlab3d_2d_matches_scipy_gaussian_filter():
    """2-D MATLAB ssim: ``imgaussfilt(X, 1.5, 'FilterSize', 11, 'Padding', 'replicate')``."""
    g1 = data.camera()[100:200, 150:260]
    g2 = _degrade(g1, 1.5, 5.0)

    def filt(v):
        return gaussian_filter(v, 1.5, mode="nearest", radius=5)

    a, b = g1.astype(np.float64), g2.astype(np.float64)
    ma, mb = filt(a), filt(b)
    smap = ((2 * ma * mb + C1) * (2 * (filt(a * b) - ma * mb) + C2)
            / ((ma**2 + mb**2 + C1) * (filt(a * a) - ma**2 + filt(b * b) - mb**2 + C2)))
    assert ssim_matlab3d(g1, g2) == pytest.approx(smap.mean(), abs=1e-12)


@pytest.mark.parametrize("sigma, noise", [(0.0, 10.0), (2.0, 0.0), (1.0, 5.0)])
def test_ssim_per_channel_matches_skimage(sigma, noise):
    gt = data.astronaut()
    pred = _degrade(gt, sigma, noise)
    ref = structural_similarity(gt, pred, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                data_range=255, channel_axis=-1)
    assert ssim_per_channel(gt, pred) == pytest.approx(ref, abs=1e-6)
    ref_y = structural_similarity(rgb_to_y(gt), rgb_to_y(pred), gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, data_range=255)
    assert ssim_y(gt, pred) == pytest.approx(ref_y, abs=1e-6)


def test_ssim_is_symmetric_and_ranks_degradations():
    gt = data.astronaut()[::2, ::2]
    mild, strong = _degrade(gt, 0.7, 2.0), _degrade(gt, 2.5, 15.0)
    for fn in (ssim_matlab3d, ssim_per_channel, ssim_y):
        assert fn(gt, mild) == pytest.approx(fn(mild, gt), abs=1e-12)
        assert 1.0 > fn(gt, mild) > fn(gt, strong) > 0.0


# ----------------------------------------------------------------------------- interpolation error


def test_ie_starnet_code_closed_form_on_random_arrays():
    for seed, shape in enumerate([(37, 41, 3), (16, 16), (5, 7, 3)]):
        gt, sr = _rng_pair(shape, seed)
        expected = np.mean(np.maximum(0, np.minimum(sr.astype(np.int64), 127) - gt.astype(np.int64)))
        assert ie_starnet_code(gt, sr) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("gt, sr, expected", [
    (100, 110, 10),   # 238 - 100 = 138, - 128 = 10
    (110, 100, 0),    # 228 - 110 = 118, - 128 saturates to 0 (one-sided)
    (50, 200, 77),    # 128 + 200 saturates to 255, - 50 = 205, - 128 = 77 (not 150)
    (0, 200, 127),    # 255 - 0 - 128
    (255, 0, 0),      # 128 - 255 saturates to 0
    (7, 7, 0),
])
def test_ie_starnet_code_hand_cases(gt, sr, expected):
    a = np.full((2, 3, 3), gt, np.uint8)
    b = np.full((2, 3, 3), sr, np.uint8)
    assert ie_starnet_code(a, b) == expected
    assert ie_mae(a, b) == abs(sr - gt)


def test_ie_mae_and_rms_hand_case():
    gt = np.zeros((1, 2, 3), np.uint8)
    pred = gt.copy()
    pred[0, 0] = [3, 4, 0]  # colour difference of L2 norm 5 at one of two pixels
    assert ie_mae(gt, pred) == pytest.approx(7 / 6)
    assert ie_rms_middlebury(gt, pred) == pytest.approx(math.sqrt(25 / 2))
    assert ie_rms_middlebury(gt[..., 0], pred[..., 0]) == pytest.approx(math.sqrt(9 / 2))
    assert ie_mae(pred, gt) == ie_mae(gt, pred)
    assert ie_starnet_code(gt, pred) == pytest.approx(7 / 6)  # below 128 and sr >= gt: plain MAE
    assert ie_starnet_code(pred, gt) == 0.0


# ----------------------------------------------------------------------------- imresize

# BasicSR 1.4.2 ``basicsr.utils.matlab_functions.imresize(img, scale)`` (antialiasing=True; it runs
# in float32) on float64 images in [0, 1]: astronaut = skimage.data.astronaut() / 255,
# camera = skimage.data.camera() / 255, noise = _hash_noise(45, 61, 3). Per case: output shape,
# mean of the output, and the output at (0, 0), (h-1, w-1), (0, w-1), (h-1, 0), (h//2, w//3),
# rounded to 8 decimals. Max |ours - BasicSR| over whole arrays was 2.4e-7 (float32 rounding).
IMRESIZE_REFERENCE = [
    ("astronaut", 0.25, (128, 128, 3), 0.449407869,
     [[0.60084659, 0.58388555, 0.61702698], [0.03202586, 0.0313439, 0.02659741],
      [0.4889583, 0.46047246, 0.43280923], [0.71758974, 0.65060723, 0.67206699],
      [0.13986075, 0.05754539, 0.02639863]]),
    ("astronaut", 0.5, (256, 256, 3), 0.449407868,
     [[0.56818062, 0.54618174, 0.57582748], [-0.00841639, -0.00829737, -0.00657528],
      [0.48258686, 0.45875219, 0.42398059], [0.72040331, 0.656708, 0.67401677],
      [0.13054116, 0.05584203, 0.02051003]]),
    ("camera", 0.25, (128, 128), 0.506120505,
     [[0.78268749], [0.57555211], [0.74483359], [0.0991341], [0.10824658]]),
    ("camera", 0.5, (256, 256), 0.506120509,
     [[0.78316599], [0.59640598], [0.74492639], [0.09875087], [0.10569028]]),
    ("noise", 0.25, (12, 16, 3), 0.499572526,
     [[0.48122248, 0.55778658, 0.48930365], [0.34423137, 0.44094062, 0.5347172],
      [0.53543437, 0.50894189, 0.58282959], [0.45045474, 0.47360662, 0.50855887],
      [0.50981653, 0.48703253, 0.51212358]]),
    ("noise", 0.5, (23, 31, 3), 0.499459321,
     [[0.54100454, 0.65703017, 0.33765721], [0.02387969, 0.13665196, 0.2580387],
      [0.68954265, 0.70963281, 0.83202773], [0.27643484, 0.3040702, 0.44011989],
      [0.39275762, 0.49900797, 0.65442502]]),
    ("noise", 2.0, (90, 122, 3), 0.499819657,
     [[-0.16300166, -0.04693022, 0.27442273], [-0.01463294, 0.1014385, 0.21750993],
      [0.68644595, 0.90515822, 1.02122962], [0.33339536, 0.44946679, 0.56553823],
      [0.57325119, 0.72561342, 0.84700024]]),
]


def _resize_input(name: str) -> np.ndarray:
    if name == "noise":
        return _hash_noise(45, 61, 3)
    return getattr(data, name)() / 255.0


@pytest.mark.parametrize("name, scale, shape, mean, values", IMRESIZE_REFERENCE)
def test_imresize_matches_basicsr_reference(name, scale, shape, mean, values):
    out = imresize_matlab(_resize_input(name), scale)
    assert out.dtype == np.float64 and out.shape == shape
    assert out.mean() == pytest.approx(mean, abs=1e-6)
    h, w = shape[:2]
    points = [(0, 0), (h - 1, w - 1), (0, w - 1), (h - 1, 0), (h // 2, w // 3)]
    got = [np.atleast_1d(out[p]) for p in points]
    np.testing.assert_allclose(got, values, rtol=0, atol=1e-6)


@pytest.mark.skipif(not BASICSR_MATLAB_FUNCTIONS.exists(), reason="BasicSR 1.4.2 sources not unpacked at /tmp/bsr")
@pytest.mark.parametrize("name, scale", [("astronaut", 0.25), ("camera", 0.5), ("noise", 0.25), ("noise", 2.0)])
def test_imresize_matches_basicsr_live(name, scale):
    spec = importlib.util.spec_from_file_location("bsr_matlab_functions", BASICSR_MATLAB_FUNCTIONS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    img = _resize_input(name)
    ref = module.imresize(img, scale).astype(np.float64)
    assert np.abs(imresize_matlab(img, scale) - ref).max() < 1e-6


def test_imresize_output_size_identity_and_constants():
    assert imresize_matlab(np.zeros((303, 385)), 0.25).shape == (76, 97)  # ceil, as MATLAB
    assert imresize_matlab(np.zeros((5, 7, 2)), 0.5).shape == (3, 4, 2)
    img = _hash_noise(20, 30, 3)
    np.testing.assert_array_equal(imresize_matlab(img, 1.0), img)
    const = np.full((33, 47, 3), 0.3)
    np.testing.assert_allclose(imresize_matlab(const, 0.25), 0.3, rtol=0, atol=1e-14)


def test_imresize_uint8_rounds_and_stays_close_to_float():
    img = 64 + data.astronaut() // 2  # 64..191: the cubic overshoot never reaches 0 or 255
    out = imresize_matlab(img, 0.25)
    assert out.dtype == np.uint8 and out.shape == (128, 128, 3)
    ref = imresize_matlab(img.astype(np.float64), 0.25)
    # two roundings (MATLAB rounds after each pass) move a pixel by at most ~0.5 * sum|w| + 0.5
    assert np.abs(out.astype(np.float64) - ref).max() <= 1.1
    assert np.array_equal(imresize_matlab(np.full((16, 16), 200, np.uint8), 0.5), np.full((8, 8), 200))
    with pytest.raises(ValueError):
        imresize_matlab(img.astype(np.int16), 0.5)


# ----------------------------------------------------------------------------- NIQE

# BasicSR 1.4.2 ``basicsr.metrics.niqe.calculate_niqe(img, crop_border=0, input_order='HW',
# convert_to='y')`` on the GRAYSCALE uint8 skimage images (no colour conversion involved), twice:
#   f32: BasicSR as released. It runs the LIVE algorithm in float32 (``img.astype(np.float32)``,
#        and its torch ``imresize`` casts to float32).
#   f64: the same two source files with only those casts patched to float64 (niqe.py:
#        ``astype(np.float32)`` -> float64; matlab_functions.py: ``.float()`` -> ``.double()``,
#        ``torch.FloatTensor`` -> ``torch.DoubleTensor``, torch default dtype float64).
# Ours agrees with f64 to 2e-12 on all five, i.e. the algorithm is the same; the gaps to f32 are
# float32 rounding. They stay below 1e-3 except on moon (1.43e-3): its 8 exactly flat 7x7
# neighbourhoods make the result hinge on the sign of ~1e-14 residuals (see ``page`` below),
# which float32 rounding flips.
NIQE_BASICSR = {  # name: (f32, f64, tolerance against f32)
    "camera": (3.096206619345783, 3.096202208122647, 1e-3),
    "moon": (9.11205153111188, 9.113485412232695, 2e-3),
    "coins": (3.622671715936883, 3.622678666306083, 1e-3),
    "text": (10.197638378265873, 10.197597652323173, 1e-3),
    "brick": (9.479599681810095, 9.48014248829148, 1e-3),
}
# ``page`` has large exactly flat regions: there (im - mu) is a rounding residual of ~1e-14 whose
# sign decides whether a pixel counts on the left or the right of the AGGD fit, so LIVE's NIQE
# depends on the order in which the local mean is summed. BasicSR (``convolve``) and ``starlib``
# (``correlate``, the same 2-D window) differ by 1.6e-2 on it even in float64; nobody can match
# MATLAB there without MATLAB's exact summation order. Values: f32 and f64 as above.
NIQE_BASICSR_FLAT = {"page": (8.812603528198819, 8.771415819199769)}


@pytest.mark.parametrize("name", sorted(NIQE_BASICSR))
def test_niqe_matches_basicsr_reference(name):
    f32, f64, tol = NIQE_BASICSR[name]
    value = niqe(getattr(data, name)())
    assert value == pytest.approx(f64, abs=1e-9)
    assert value == pytest.approx(f32, abs=tol)


@pytest.mark.parametrize("name", sorted(NIQE_BASICSR_FLAT))
def test_niqe_on_flat_image_is_close_to_basicsr(name):
    value = niqe(getattr(data, name)())
    for ref in NIQE_BASICSR_FLAT[name]:
        assert value == pytest.approx(ref, abs=5e-2)


def test_niqe_rgb_uses_rgb2gray_and_rises_with_degradation():
    rgb = data.astronaut()
    assert niqe(rgb) == niqe(rgb_to_gray(rgb))
    cam = data.camera()
    assert niqe(_degrade(cam, 3.0, 0.0)) > niqe(cam) + 1.0
    assert niqe(_degrade(cam, 0.0, 20.0)) > niqe(cam) + 1.0
    assert math.isnan(niqe(np.full((192, 192), 40, np.uint8)))  # flat: no finite block features


def test_niqe_model_file_and_window():
    digest = hashlib.sha256((DATA_DIR / "niqe_pris_params.npz").read_bytes()).hexdigest()
    assert digest == "2a7c182a68c9e7f1b2e2e5ec723279d6f65d912b6fcaf37eb2bf03d7367c4296"
    assert digest in (DATA_DIR / "README.md").read_text()
    mu, cov = pristine_model()
    assert mu.shape == (36,) and cov.shape == (36, 36)
    np.testing.assert_allclose(cov, cov.T, rtol=0, atol=1e-12)
    with np.load(DATA_DIR / "niqe_pris_params.npz") as params:
        np.testing.assert_allclose(_gaussian_window_7x7(), params["gaussian_window"], rtol=0, atol=1e-15)
