"""Training: losses and objectives (paper 3.3, spec 6), the resumable training loop."""

from .losses import LossWeights, STARLoss, VGGFeatures, VGGWeightsMissing, find_vgg19_weights
from .trainer import RunResult, TrainConfig, TrainingDiverged, run_id, train

__all__ = ["LossWeights", "RunResult", "STARLoss", "TrainConfig", "TrainingDiverged", "VGGFeatures",
           "VGGWeightsMissing", "find_vgg19_weights", "run_id", "train"]
