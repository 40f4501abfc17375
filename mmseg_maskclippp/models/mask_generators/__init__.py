from .base import BaseMaskGenerator, GeneratedMasks
from .ensemble import GeometricEnsemble
from .gt_oracle import GTMaskGenerator

__all__ = [
    'BaseMaskGenerator', 'GeneratedMasks', 'GeometricEnsemble',
    'GTMaskGenerator'
]
