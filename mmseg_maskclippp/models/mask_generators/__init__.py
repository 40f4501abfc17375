from .base import BaseMaskGenerator, GeneratedMasks
from .felzenszwalb import FelzenszwalbMaskGenerator
from .gt_oracle import GTMaskGenerator
from .mask2former import Mask2FormerGenerator
from .offline import (OfflineMaskGenerator, read_offline_masks,
                      save_offline_masks)

__all__ = [
    'BaseMaskGenerator', 'GeneratedMasks',
    'FelzenszwalbMaskGenerator', 'GTMaskGenerator', 'Mask2FormerGenerator',
    'OfflineMaskGenerator', 'read_offline_masks', 'save_offline_masks'
]
