from .formatting import PackMaskCLIPInputs
from .gt_masks import GenerateGTMasks

__all__ = ['GenerateGTMasks', 'PackMaskCLIPInputs']
