"""Our components live in mmseg's registries (datasets, transforms,
models, metrics), so that mmseg configs and ``mim`` find them by name once
``mmseg_maskclippp`` is imported (``custom_imports``)."""
from mmseg.registry import DATASETS, METRICS, MODELS, TRANSFORMS

__all__ = ['DATASETS', 'METRICS', 'MODELS', 'TRANSFORMS']
