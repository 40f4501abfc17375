"""The embedded default: a small procedural open-vocabulary world.

Importing this package registers the toy CLIP's open_clip model config
(``toy-world-vit``, ``toy-world-vit.json`` here) with
``open_clip.add_model_config`` and the ``ToyWorldDataset``; configs do it
with ``custom_imports = dict(imports=['mmseg_maskclippp',
'mmseg_maskclippp.toy_world'])``.
"""
import os.path as osp

import open_clip

from .captions import CaptionBatches, caption
from .dataset import ToyWorldDataset
from .pretrain import (TOY_CLIP, PretrainConfig, prepare_toy_clip,
                       pretrain_clip, zero_shot_accuracy)
from .segmentation_data import (prepare_segmentation_dataset,
                                write_segmentation_dataset)
from .world import ToyWorld

open_clip.add_model_config(
    osp.join(osp.dirname(osp.abspath(__file__)), TOY_CLIP + '.json'))

__all__ = [
    'CaptionBatches', 'PretrainConfig', 'TOY_CLIP', 'ToyWorld',
    'ToyWorldDataset', 'caption', 'prepare_segmentation_dataset',
    'prepare_toy_clip', 'pretrain_clip', 'write_segmentation_dataset',
    'zero_shot_accuracy'
]
