"""Image-quality metrics with the conventions of STARnet's MATLAB evaluation (and the field's).

Contract (see ``docs/metric_contract.md`` for the table of which paper number uses which):

* Inputs are numpy ``uint8`` arrays, HxWx3 RGB (R, G, B order, 0..255) or HxW, ground truth
  first: ``fn(gt, pred)``. Predictions must be rounded to uint8 before scoring (as STARnet
  does by writing PNGs); anything else raises ``ValueError``, as does a shape mismatch.
* No border crop, no colour conversion unless the name says so (``*_y``: MATLAB ``rgb2ycbcr``
  luma, rounded to uint8 as MATLAB does). All arithmetic is float64. Peak value 255.
* ``psnr``: MATLAB ``psnr`` (MSE over all pixels and channels); ``inf`` for identical images.
* ``ssim_matlab3d``: MATLAB built-in ``ssim`` on the HxWx3 volume (3-D Gaussian window,
  replicate padding), what STARnet reports. ``ssim_per_channel``: Wang et al. reference SSIM
  ('valid' 11x11 window) per channel, then the mean. ``ssim_y``: the latter on Y.
* ``ie_mae`` / ``ie_rms_middlebury`` / ``ie_starnet_code``: the three interpolation errors
  (VFI papers, Baker et al. 2011, STARnet's ``inter_error.m`` in uint8 saturating arithmetic).
* ``niqe(img)``: LIVE ``niqe_release`` on one image (``rgb2gray`` for RGB); no reference.

Importing this package reads no files; the NIQE model is loaded on first use.
"""

from .color import rgb_to_gray, rgb_to_y
from .interpolation_error import ie_mae, ie_rms_middlebury, ie_starnet_code
from .niqe_live import niqe
from .psnr_matlab import psnr, psnr_y
from .ssim import ssim_matlab3d, ssim_per_channel, ssim_y

__all__ = [
    "ie_mae",
    "ie_rms_middlebury",
    "ie_starnet_code",
    "niqe",
    "psnr",
    "psnr_y",
    "rgb_to_gray",
    "rgb_to_y",
    "ssim_matlab3d",
    "ssim_per_channel",
    "ssim_y",
]
