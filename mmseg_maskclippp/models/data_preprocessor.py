"""Batching for MaskCLIP++: RGB conversion and padding, no normalisation.

MaskCLIP++ runs two encoders with different input statistics (CLIP and the
mask generator), so each normalises its own input; the batch stays in RGB
0..255. Images are padded bottom/right with a per-channel colour (by
default the CLIP backbone's mean, which the CLIP normalisation maps to 0, as
the official implementation pads), semantic maps with ``seg_pad_val`` and
GT masks with 0.
"""
from numbers import Number
from typing import Any, Dict, Optional, Sequence

import open_clip
import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmseg.utils import stack_batch

from mmseg_maskclippp.registry import MODELS

#: OpenAI CLIP mean colour, RGB on the 0..255 scale, computed as the
#: backbone computes its ``mean`` (the colour its normalisation maps to 0)
CLIP_MEAN_RGB = tuple(255.0 * m for m in open_clip.OPENAI_DATASET_MEAN)


@MODELS.register_module()
class MaskCLIPDataPreProcessor(BaseDataPreprocessor):
    """Stack a batch for :class:`MaskCLIPpp`.

    In training, ``gt_sem_seg`` and the GT masks are padded with the image;
    at test time they keep their size (evaluation happens at the original
    size) and only the padding is recorded in the metainfo.

    Args:
        size_divisor: pad height and width to multiples of it (the CLIP
            stride, or a multiple of it).
        size: pad to this fixed (H, W) instead (exclusive with
            ``size_divisor``).
        pad_val: padding colour (0..255), one value per RGB channel or one
            for all. None (default): the mean colour of the backbone of the
            :class:`MaskCLIPpp` that owns this preprocessor (its
            ``backbone.mean``), OpenAI CLIP's until one sets it.
        seg_pad_val: padding of ``gt_sem_seg``.
        bgr_to_rgb: convert loaded BGR images to RGB.
    """

    def __init__(self,
                 size_divisor: Optional[int] = 32,
                 size: Optional[Sequence[int]] = None,
                 pad_val: Any = None,
                 seg_pad_val: Number = 255,
                 bgr_to_rgb: bool = True):
        super().__init__()
        if (size is None) == (size_divisor is None):
            raise ValueError('give exactly one of size and size_divisor')
        self.size_divisor = size_divisor
        self.size = tuple(size) if size is not None else None
        #: whether the padding colour is the backbone's mean
        self.pads_with_backbone_mean = pad_val is None
        self.register_buffer('pad_val', torch.zeros(3, 1, 1),
                             persistent=False)
        self.set_pad_val(CLIP_MEAN_RGB if pad_val is None else pad_val)
        self.seg_pad_val = seg_pad_val
        self.bgr_to_rgb = bgr_to_rgb

    def set_pad_val(self, pad_val: Any) -> None:
        """Pad images with ``pad_val`` (0..255): one value per RGB channel
        or one for all."""
        pad = [float(pad_val)] * 3 if isinstance(pad_val, Number) \
            else [float(v) for v in pad_val]
        if len(pad) != 3:
            raise ValueError(f'pad_val needs 3 values, got {pad_val!r}')
        self.pad_val.copy_(torch.tensor(pad).view(3, 1, 1))

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        data = self.cast_data(data)
        inputs = data['inputs']
        data_samples = data.get('data_samples', None)
        for i, img in enumerate(inputs):
            if img.ndim != 3 or img.shape[0] != 3:
                raise ValueError(f'image {i} of the batch has shape '
                                 f'{tuple(img.shape)}; expected (3, H, W)')
        if self.bgr_to_rgb:
            inputs = [img[[2, 1, 0]] for img in inputs]
        # pad with the colour: shift it to 0, pad with 0, shift back
        inputs = [img.float() - self.pad_val for img in inputs]
        if training:
            # annotations are padded with the image for the loss
            stacked, data_samples = stack_batch(
                inputs=inputs,
                data_samples=data_samples,
                size=self.size,
                size_divisor=self.size_divisor,
                pad_val=0,
                seg_pad_val=self.seg_pad_val)
            for sample in data_samples:
                if 'gt_instances' in sample:
                    left, right, top, bottom = sample.padding_size
                    sample.gt_instances.masks = F.pad(
                        sample.gt_instances.masks,
                        (left, right, top, bottom), value=0)
        else:
            # annotations stay at their size for evaluation
            stacked, pad_info = stack_batch(
                inputs=inputs,
                size=self.size,
                size_divisor=self.size_divisor,
                pad_val=0)
            for sample, info in zip(data_samples or [], pad_info):
                sample.set_metainfo(info)
        return dict(inputs=stacked + self.pad_val, data_samples=data_samples)
