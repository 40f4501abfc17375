"""Shared fixtures: tiny random CLIPs of every family, tiny datasets.

Nothing here downloads: the CLIPs are built from open_clip model configs
registered at test time (``tiny_models.py``) with random weights.
"""
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(__file__))

from tiny_models import FAMILIES, register_tiny_models  # noqa: E402

register_tiny_models()

import mmseg_maskclippp  # noqa: E402,F401
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.structures import InstanceData, PixelData  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

init_default_scope('mmseg')
# keep torch single-threaded per test process: the suite runs on 2 cores
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(params=FAMILIES)
def family(request):
    """Every tiny CLIP model name (``test-convnext``, ``test-vit``, ...)."""
    return request.param


@pytest.fixture
def seed():
    torch.manual_seed(0)
    np.random.seed(0)
    return 0


def make_segmentor(model_name, decode_head=None, vocabulary=None, **kwargs):
    """A MaskCLIPpp on a tiny random CLIP with the GT-oracle generator."""
    from mmseg_maskclippp.registry import MODELS
    if decode_head is None:
        decode_head = dict(type='LinearPSM', width=16)
    cfg = dict(
        type='MaskCLIPpp',
        backbone=dict(type='OpenCLIPVisual', model_name=model_name),
        text_encoder=dict(
            type='OpenCLIPTextClassifier',
            model_name=model_name,
            templates='t1',
            cache_dir=None),
        decode_head=decode_head,
        train_vocabulary=vocabulary or ['red', 'green', 'blue,azure', 'grey'],
        mask_generator=dict(type='GTMaskGenerator'),
        data_preprocessor=dict(
            type='MaskCLIPDataPreProcessor', size_divisor=32))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def batch(model, labels_per_image=((0, 1, 2), (3, )), size=(64, 64),
          seed=0):
    """A preprocessed training batch of ``model``: random images, each split
    into vertical stripes of ``labels_per_image`` (semantic map and one GT
    mask per label)."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for labels in labels_per_image:
        h, w = size
        seg = torch.full((1, h, w), 255, dtype=torch.long)
        for i, label in enumerate(labels):
            seg[:, :, i * w // len(labels):(i + 1) * w // len(labels)] = label
        s = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size))
        s.gt_sem_seg = PixelData(data=seg)
        present = torch.tensor(sorted(set(labels)), dtype=torch.long)
        s.gt_instances = InstanceData(
            masks=seg[0][None] == present[:, None, None], labels=present)
        inputs.append(torch.randint(0, 256, (3, h, w), generator=g,
                                    dtype=torch.uint8))
        samples.append(s)
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples),
                                   True)
