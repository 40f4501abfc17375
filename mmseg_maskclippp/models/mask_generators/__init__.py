from .base import BaseMaskGenerator, GeneratedMasks
from .ensemble import GeometricEnsemble
from .felzenszwalb import FelzenszwalbMaskGenerator
from .gt_oracle import GTMaskGenerator
from .mask2former import Mask2FormerGenerator
from .offline import (OfflineMaskGenerator, read_offline_masks,
                      save_offline_masks)

__all__ = [
    'BaseMaskGenerator', 'GeneratedMasks', 'GeometricEnsemble',
    'FelzenszwalbMaskGenerator', 'GTMaskGenerator', 'Mask2FormerGenerator',
    'OfflineMaskGenerator', 'read_offline_masks', 'save_offline_masks'
]
