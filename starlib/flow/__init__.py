"""Optical flow: OpenCV backends, the authors' normalisation, FR ground truth, a disk cache, colour coding."""

from .backends import (BACKENDS, DEFAULT_BACKEND, MAX_FLOW, compute_flow, denormalize_flow, fr_ground_truth,
                       normalize_flow, warp)
from .cache import FlowCache
from .visualize import color_wheel, flow_to_color

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "FlowCache", "MAX_FLOW", "color_wheel", "compute_flow",
           "denormalize_flow", "flow_to_color", "fr_ground_truth", "normalize_flow", "warp"]
