"""The "ideal mask generator" of the paper (Fig. 1a): the test image's own
ground-truth masks."""
from typing import List

import torch
import torch.nn.functional as F

from mmseg_maskclippp.registry import MODELS
from .base import BaseMaskGenerator, GeneratedMasks


@MODELS.register_module()
class GTMaskGenerator(BaseMaskGenerator):
    """Proposes the ground-truth masks of each test image, with their labels
    (so mask-classification accuracy can be measured).

    Args:
        source: ``'semantic'``: one mask per class present in
            ``gt_sem_seg`` (``ignore_index`` excluded, increasing class
            order); ``'panoptic'``: the masks of ``gt_instances``.
        ignore_index: unlabelled value of ``gt_sem_seg``.

    Masks are resized bilinearly from the annotation size to the image size
    (test pipelines load annotations at the original resolution).
    """

    def __init__(self, source: str = 'semantic', ignore_index: int = 255,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if source not in ('semantic', 'panoptic'):
            raise ValueError("source must be 'semantic' or 'panoptic', got "
                             f'{source!r}')
        self.source = source
        self.ignore_index = ignore_index

    def forward(self, images, data_samples) -> List[GeneratedMasks]:
        out = []
        for image, sample in zip(images, data_samples):
            if self.source == 'semantic':
                if 'gt_sem_seg' not in sample:
                    raise KeyError(
                        f'{sample.metainfo.get("img_path", "image")}: the GT '
                        'oracle needs gt_sem_seg (LoadAnnotations in the test '
                        'pipeline)')
                seg = sample.gt_sem_seg.data[0]
                labels = torch.unique(seg)
                labels = labels[labels != self.ignore_index]
                masks = seg[None] == labels[:, None, None]
            else:
                if 'gt_instances' not in sample:
                    raise KeyError(
                        f'{sample.metainfo.get("img_path", "image")}: the '
                        'panoptic GT oracle needs gt_instances')
                masks = sample.gt_instances.masks
                labels = sample.gt_instances.labels
            masks = masks.float().to(image.device)
            if masks.shape[-2:] != image.shape[-2:] and len(masks):
                masks = F.interpolate(
                    masks[None], size=image.shape[-2:], mode='bilinear',
                    align_corners=False)[0]
            elif not len(masks):
                masks = masks.new_zeros(0, *image.shape[-2:])
            out.append(
                GeneratedMasks(masks=masks, labels=labels.long().to(
                    image.device)))
        return out
