"""A frozen mmdet Mask2Former as mask generator (paper Table 3).

The detector is built from mmdet's own config and registry and loaded from
an mmdet checkpoint; only its backbone and panoptic head run. It sees the
image at its own input size and normalisation, independent of CLIP's.
"""
import copy
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from torch import Tensor

from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.utils.checkpoint import checkpoint_loading
from mmseg_maskclippp.vocabulary import Vocabulary, VocabularyLike
from ..utils.resize import resize_short_side
from .base import BaseMaskGenerator, GeneratedMasks


def load_mmdet_config(config: str) -> Config:
    """An mmdet config from a file or from the mmdet package
    (``'mmdet::mask2former/<file>.py'``)."""
    if '::' in config:
        return get_config(config)
    return Config.fromfile(config)


def _leave_out_detector(module, state_dict, prefix, local_metadata):
    for key in [k for k in state_dict if k.startswith(prefix + 'detector.')]:
        del state_dict[key]


def _keep_detector(module, state_dict, prefix, *args):
    for key, value in module.detector.state_dict(prefix=prefix +
                                                 'detector.').items():
        state_dict.setdefault(key, value)


@MODELS.register_module()
class Mask2FormerGenerator(BaseMaskGenerator):
    """Query masks and class logits of a frozen mmdet Mask2Former.

    Args:
        config: an mmdet Mask2Former config, a file or a path inside the
            mmdet package such as ``'mmdet::mask2former/mask2former_swin-t-
            p4-w7-224_8xb2-lsj-50e_coco-panoptic.py'``.
        checkpoint: mmdet checkpoint (file or URL) loaded at construction,
            weights-only (:func:`checkpoint_loading`); None keeps random
            weights (tests only).
        vocabulary: the detector's training classes in its label order
            (the built-in ``coco_panoptic`` is mmdet's COCO-panoptic order).
        short_side: short side of the detector input; the long side
            follows the aspect ratio (truncated), with no cap, as the
            official generator resizes (its mmdet test pipeline would cap
            the long side at 1333 instead).
        cfg_options: overrides merged into the mmdet config
            (``Config.merge_from_dict``), e.g.
            ``{'model.panoptic_head.num_queries': 10}``.
        strict: require the checkpoint to hold exactly the model's weights.

    The detector's weights come from its own checkpoint only: as in the
    official implementation they are left out of the segmentor's
    ``state_dict``, and loading a segmentor checkpoint keeps them (so a
    MaskCLIP++ checkpoint loads strictly whatever the generator).

    Images are resized bilinearly to the detector input size, normalised
    with the mean, std and channel order of the detector's
    ``data_preprocessor`` and padded to its ``pad_size_divisor``. Each
    image gets Q masks and (Q, K_g + 1) class logits, void last, from the
    last decoder layer. As in the official generator, the masks are the
    sigmoid of the stride-4 mask logits, resized bilinearly to the padded
    input, cropped to the image, then resized bilinearly to the size of
    the image given (mmdet's own ``predict`` upsamples the logits before
    the sigmoid, which gives other probabilities).
    """

    def __init__(self,
                 config: str,
                 checkpoint: Optional[str],
                 vocabulary: VocabularyLike = 'coco_panoptic',
                 short_side: int = 800,
                 cfg_options: Optional[dict] = None,
                 strict: bool = True,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        import mmdet.models  # noqa: F401  (fills mmdet's registry)
        from mmdet.registry import MODELS as MMDET_MODELS
        cfg = load_mmdet_config(config)
        if cfg_options:
            cfg.merge_from_dict(copy.deepcopy(cfg_options))
        if cfg.model.get('type') != 'Mask2Former':
            raise ValueError(f'{config}: model type must be Mask2Former, got '
                             f'{cfg.model.get("type")!r}')
        with DefaultScope.overwrite_default_scope('mmdet'):
            self.detector = MMDET_MODELS.build(cfg.model)
        self.vocabulary = Vocabulary.build(vocabulary)
        if len(self.vocabulary) != self.detector.num_classes:
            raise ValueError(
                f'{config}: the detector predicts '
                f'{self.detector.num_classes} classes, the vocabulary '
                f'{self.vocabulary.source!r} has {len(self.vocabulary)}')
        self._set_normalization(
            cfg.model.get('data_preprocessor') or {}, config)
        self.short_side = short_side
        if checkpoint is not None:
            with checkpoint_loading(source=checkpoint):
                load_checkpoint(self.detector, checkpoint,
                                map_location='cpu', strict=strict)
        self.detector.requires_grad_(False)
        self.detector.eval()
        self.register_state_dict_post_hook(_leave_out_detector)
        self.register_load_state_dict_pre_hook(_keep_detector)

    def _set_normalization(self, preprocessor: dict, config: str) -> None:
        """Mean, std, channel order and padding of mmdet's
        ``DetDataPreprocessor`` settings (mmdet loads images as BGR and
        converts them when ``bgr_to_rgb``/``rgb_to_bgr`` is set)."""
        if preprocessor.get('mean') is None or preprocessor.get('std') is None:
            raise ValueError(f'{config}: model.data_preprocessor needs mean '
                             'and std')
        self.register_buffer(
            'mean',
            torch.tensor(preprocessor['mean'],
                         dtype=torch.float).view(3, 1, 1),
            persistent=False)
        self.register_buffer(
            'std',
            torch.tensor(preprocessor['std'], dtype=torch.float).view(3, 1, 1),
            persistent=False)
        self.expects_rgb = bool(
            preprocessor.get('bgr_to_rgb') or preprocessor.get('rgb_to_bgr'))
        self.size_divisor = preprocessor.get('pad_size_divisor', 1)
        self.pad_value = preprocessor.get('pad_value', 0)

    def init_weights(self) -> None:
        """The weights come from the checkpoint: never re-initialised."""

    def _batch(self, images: Sequence[Tensor]):
        """Resized, normalised, padded (B, 3, H', W') batch and the
        resized sizes."""
        sizes = [
            resize_short_side(tuple(img.shape[-2:]), self.short_side)
            for img in images
        ]
        h = max(s[0] for s in sizes)
        w = max(s[1] for s in sizes)
        h = -(-h // self.size_divisor) * self.size_divisor
        w = -(-w // self.size_divisor) * self.size_divisor
        batch = self.mean.new_full((len(images), 3, h, w), self.pad_value)
        for i, (img, size) in enumerate(zip(images, sizes)):
            img = F.interpolate(
                img[None].to(self.mean),
                size=size,
                mode='bilinear',
                align_corners=False)[0]
            if not self.expects_rgb:
                img = img.flip(0)
            batch[i, :, :size[0], :size[1]] = (img - self.mean) / self.std
        return batch, sizes

    @torch.no_grad()
    def forward(self, images, data_samples) -> List[GeneratedMasks]:
        batch, sizes = self._batch(images)
        samples = [
            DetDataSample(
                metainfo=dict(
                    img_shape=size, batch_input_shape=tuple(batch.shape[-2:])))
            for size in sizes
        ]
        feats = self.detector.extract_feat(batch)
        # per decoder layer: (B, Q, K_g + 1) and (B, Q, H' / 4, W' / 4)
        cls_logits, mask_logits = self.detector.panoptic_head(feats, samples)
        probs = F.interpolate(
            mask_logits[-1].sigmoid(),
            size=batch.shape[-2:],
            mode='bilinear',
            align_corners=False)
        out = []
        for img, size, cls, masks in zip(images, sizes, cls_logits[-1],
                                         probs):
            masks = masks[:, :size[0], :size[1]]
            if masks.shape[-2:] != img.shape[-2:]:
                masks = F.interpolate(
                    masks[None],
                    size=img.shape[-2:],
                    mode='bilinear',
                    align_corners=False)[0]
            out.append(GeneratedMasks(masks=masks, logits=cls))
        return out
