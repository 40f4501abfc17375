"""Our components live in mmseg's registries (datasets, transforms,
models, metrics, hooks, runners), so that mmseg configs and ``mim`` find them
by name once ``mmseg_maskclippp`` is imported (``custom_imports``)."""
from mmseg.registry import (DATASETS, HOOKS, METRICS, MODELS, RUNNERS,
                            TRANSFORMS)

__all__ = ['DATASETS', 'HOOKS', 'METRICS', 'MODELS', 'RUNNERS', 'TRANSFORMS']
