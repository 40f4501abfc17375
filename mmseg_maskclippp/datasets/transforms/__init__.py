from .formatting import PackMaskCLIPInputs
from .gt_masks import GenerateGTMasks
from .panoptic_loading import LoadCocoPanopticAnnotations

__all__ = [
    'GenerateGTMasks', 'PackMaskCLIPInputs', 'LoadCocoPanopticAnnotations'
]
