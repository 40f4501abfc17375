from .formatting import PackMaskCLIPInputs
from .gt_masks import GenerateGTMasks
from .loading import LoadUInt16Annotations

__all__ = ['GenerateGTMasks', 'LoadUInt16Annotations', 'PackMaskCLIPInputs']
