"""MaskCLIP++ for mmsegmentation 1.x.

Importing this package registers every component (backbones, neck, PSM
heads, losses, segmentor, mask generators, datasets, transforms, metrics,
runner, hook, optimizer constructor) in mmseg's registries; configs do it with
``custom_imports = dict(imports=['mmseg_maskclippp'],
allow_failed_imports=False)``.
"""
from . import datasets, engine, evaluation, models, utils  # noqa: F401
from .version import __version__
from .vocabulary import Vocabulary

__all__ = ['__version__', 'Vocabulary']
