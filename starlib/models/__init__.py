"""Networks of the paper: DBPN/RBPN building blocks, STARnet and its variants, the FR U-Net."""

from .checkpoint import (CheckpointError, convert_official_state_dict, load_checkpoint, read_checkpoint,
                         save_checkpoint)
from .config import STARConfig
from .dbpn import DBPN, BackProjectionStack
from .flow_refine import FlowRefinementUNet
from .pyramid import PyramidModule
from .rbpn import RBPN
from .star import AUX_OUTPUTS, COMPONENTS, FINAL_OUTPUTS, STARnet, component_parameter_counts, count_parameters

__all__ = [
    "AUX_OUTPUTS", "BackProjectionStack", "CheckpointError", "DBPN", "FINAL_OUTPUTS", "FlowRefinementUNet",
    "PyramidModule", "RBPN", "STARConfig", "STARnet", "COMPONENTS", "component_parameter_counts",
    "convert_official_state_dict", "count_parameters",
    "load_checkpoint", "read_checkpoint", "save_checkpoint",
]
