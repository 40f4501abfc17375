"""Our components live in mmseg's registries (datasets, transforms,
models, metrics, hooks, runners, optimizer constructors), so that mmseg configs
and ``mim`` find them by name once ``mmseg_maskclippp`` is imported
(``custom_imports``)."""
from mmseg.registry import (DATASETS, HOOKS, METRICS, MODELS,
                            OPTIM_WRAPPER_CONSTRUCTORS, RUNNERS, TRANSFORMS)

__all__ = [
    'DATASETS', 'HOOKS', 'METRICS', 'MODELS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'RUNNERS', 'TRANSFORMS'
]
