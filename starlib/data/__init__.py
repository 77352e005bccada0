"""Data: the registered data sets and their fetching, reading frames safely, LR generation, benchmark/Vimeo/folder/video sources, samples for the networks."""

from .degrade import IMAGENET_MEAN, IMAGENET_STD, downscale, make_lr, modcrop, to_tensor, to_uint8
from .images import ImageError, list_images, read_frames, read_rgb, write_png
from .samples import EvalWindows, FrameStack, RandomCropWindows, flow_pair, fr_targets, load_window
from .fetch import DataMissing, FetchError, require
from starlib.util.paths import data_root

from .sources import (Window, davis_triplets, frame_folder, iter_video_frames, middlebury_other,
                      probe_video, sliding_windows, toflow_frames, ucf101_dvf, vimeo90k)

__all__ = [
    "DataMissing", "FetchError", "require", "toflow_frames",
    "EvalWindows", "FrameStack", "IMAGENET_MEAN", "IMAGENET_STD", "ImageError", "RandomCropWindows", "Window",
    "data_root", "davis_triplets", "downscale", "flow_pair", "fr_targets", "frame_folder", "iter_video_frames",
    "list_images", "load_window", "make_lr", "middlebury_other", "modcrop", "probe_video", "read_frames",
    "read_rgb", "sliding_windows", "to_tensor", "to_uint8", "ucf101_dvf", "vimeo90k", "write_png",
]
