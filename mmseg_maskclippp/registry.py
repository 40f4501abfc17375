"""Our components live in mmseg's registries (datasets, transforms,
models, metrics, optimizer constructors), so that mmseg configs and ``mim``
find them by name once ``mmseg_maskclippp`` is imported
(``custom_imports``)."""
from mmseg.registry import (DATASETS, METRICS, MODELS,
                            OPTIM_WRAPPER_CONSTRUCTORS, TRANSFORMS)

__all__ = [
    'DATASETS', 'METRICS', 'MODELS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'TRANSFORMS'
]
