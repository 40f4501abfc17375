from .formatting import PackMaskCLIPInputs
from .gt_masks import GenerateGTMasks
from .loading import LoadUInt16Annotations
from .panoptic_loading import LoadCocoPanopticAnnotations

__all__ = [
    'GenerateGTMasks', 'LoadCocoPanopticAnnotations', 'LoadUInt16Annotations',
    'PackMaskCLIPInputs'
]
