"""MATLAB colour conversions on uint8 RGB (HxWx3, R, G, B order, 0..255)."""

from __future__ import annotations

import numpy as np

from ._checks import check_image, round_to_uint8

# MATLAB rgb2ycbcr, luma row of ``origT`` (ITU-R BT.601, studio swing), offset 16. For uint8
# input MATLAB scales the matrix as ``(1/255) * origT`` (a product, not a division).
_Y_COEFFS = (1.0 / 255.0) * np.array([65.481, 128.553, 24.966])
_Y_OFFSET = 16.0
# MATLAB rgb2gray: first row of inv(ntsc matrix), as printed in rgb2gray.m.
_GRAY_COEFFS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def _lincomb_uint8(img: np.ndarray, coeffs: np.ndarray, offset: float) -> np.ndarray:
    """``K1*R + K2*G + K3*B + offset`` in float64, summed left to right as ``imlincomb`` states
    its formula, then MATLAB rounding to uint8.

    The order matters only for exact ties: 194 RGB triples have a Y of exactly k + 0.5 (e.g.
    (146, 124, 97) -> 125.5); in double they land a rounding error below or above the tie.
    """
    rgb = img.astype(np.float64)
    acc = coeffs[0] * rgb[..., 0]
    acc = acc + coeffs[1] * rgb[..., 1]
    acc = acc + coeffs[2] * rgb[..., 2]
    return round_to_uint8(acc + offset)


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Luma Y of MATLAB ``rgb2ycbcr`` on uint8 RGB: HxWx3 uint8 -> HxW uint8 in [16, 235].

    Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 with R, G, B in 0..255. MATLAB returns
    uint8 for uint8 input (``imlincomb``: computed in double, rounded half away from zero),
    so Y is rounded here as well. BasicSR's ``to_y_channel`` keeps it unrounded (float); the
    two differ by at most 0.5 per pixel.
    """
    check_image(img, name="img", rgb=True)
    return _lincomb_uint8(img, _Y_COEFFS, _Y_OFFSET)


def rgb_to_gray(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` on uint8 RGB: HxWx3 uint8 -> HxW uint8 (rounded as MATLAB does).

    gray = 0.298936021293775 R + 0.587043074451121 G + 0.114020904255103 B.
    """
    check_image(img, name="img", rgb=True)
    return _lincomb_uint8(img, _GRAY_COEFFS, 0.0)
