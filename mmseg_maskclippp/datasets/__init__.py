from .ade20k_847 import ADE20K847Dataset
from .pascal_context_459 import PascalContext459Dataset
from .pascal_voc_20 import PascalVOC20Dataset
from .transforms import *  # noqa: F401,F403
from .vocabulary_dataset import VocabularySegDataset

__all__ = [
    'ADE20K847Dataset', 'PascalContext459Dataset', 'PascalVOC20Dataset',
    'VocabularySegDataset'
]
