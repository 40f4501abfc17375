"""The mask-pooling neck: mask embeddings E_m from CLIP features and masks.

Data flows one way: the neck prepares the masks (padded like the image,
bilinearly downsampled to each feature grid the CLIP pools at, once per
grid) and hands tensors to the paper's pooling, each in its own file:

* Eq. 1 (:mod:`.mask_average_pooling`), CLIPs that average-pool (ConvNeXt,
  average-pooling ViTs): phi(M) = M / (sum M + eps), then the backbone's
  ``dense_map`` and ``project``;
* Eq. 2 (:mod:`.mask_attention_pooling`), CLIPs that attention-pool
  (CLS-token ViTs, EVA, ResNets): the per-layer biases alpha * M_soft inside
  M_bin and -100 outside, computed once from the neck's alpha = exp(s)
  (s learnable per (layer, head), initialised at -5), then the backbone's
  ``attend_masks(feats, biases)``.

The backbone never calls back into the neck.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmseg_maskclippp.registry import MODELS
from .mask_attention_pooling import (attention_patch_embeddings,
                                     mask_attention_pooling)
from .mask_average_pooling import (average_patch_embeddings,
                                   mask_average_pooling)


@dataclass
class MaskEmbeddings:
    """Mask embeddings of a batch, flattened over images.

    Attributes:
        embeds: (N, D) mask embeddings E_m, not normalised; N = sum of Q_i.
        areas: (N,) mask areas at feature resolution (sum of the downsampled
            soft mask); 0 for a mask that vanished.
        img_idx: (N,) image index of every mask.
        num_masks: Q_i of every image.
    """
    embeds: Tensor
    areas: Tensor
    img_idx: Tensor
    num_masks: List[int]

    def per_image(self, values: Optional[Tensor] = None) -> List[Tensor]:
        """Split (N, ...) ``values`` (default: the embeddings) per image."""
        values = self.embeds if values is None else values
        return list(values.split(self.num_masks))


def downsample_masks(masks: Sequence[Tensor], batch_size: Tuple[int, int],
                     grid: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
    """Per-image masks -> one (B, Q, h, w) batch of soft masks on the grid.

    Each image's masks are zero-padded bottom/right to the padded batch size
    (H, W), like the image, then bilinearly resized to the (h, w) feature
    grid: align_corners=False and no antialiasing, as the official
    implementation does, so a mask narrower than the CLIP stride can vanish.
    Images are processed one at a time to bound memory.

    Args:
        masks: B tensors (Q_i, H_i, W_i) with values in [0, 1], H_i <= H,
            W_i <= W.
        batch_size: (H, W).
        grid: (h, w).

    Returns:
        (B, Q, h, w) float masks with Q = max Q_i (zero rows for padding)
        and a (B, Q) bool tensor, True for real masks.
    """
    q_max = max((m.shape[0] for m in masks), default=0)
    device = masks[0].device
    soft = torch.zeros(len(masks), q_max, *grid, device=device)
    valid = torch.zeros(len(masks), q_max, dtype=torch.bool, device=device)
    for i, m in enumerate(masks):
        q, h, w = m.shape
        valid[i, :q] = True
        if q == 0:
            continue
        padded = F.pad(m.float(), (0, batch_size[1] - w, 0, batch_size[0] - h))
        soft[i, :q] = F.interpolate(
            padded[:, None], size=grid, mode='bilinear',
            align_corners=False)[:, 0]
    return soft, valid


def neck_args_for(backbone: nn.Module) -> dict:
    """The :class:`MaskPoolingNeck` arguments a CLIP-V backbone fixes:
    its ``pooling`` and, for attention pooling, ``attention_layout``."""
    args = dict(pooling=backbone.pooling)
    if backbone.pooling == 'attention':
        args['attention_layout'] = backbone.mask_attention_layout
    return args


@MODELS.register_module()
class MaskPoolingNeck(BaseModule):
    """Mask embeddings for any CLIP-V family (paper Eq. 1 and Eq. 2).

    Args:
        pooling: ``'average'`` or ``'attention'``, the CLIP's own pooling
            (``backbone.pooling``).
        attention_layout: (layers, heads) of the Eq. 2 bias
            (``backbone.mask_attention_layout``); attention pooling only.
        init_log_alpha: initial s of alpha = exp(s).
        learnable_alpha: whether s trains.
        eps: the epsilon of the Eq. 1 normaliser.

    :class:`MaskCLIPpp` fills ``pooling`` and ``attention_layout`` from its
    backbone (:func:`neck_args_for`); set them yourself when you use the
    neck elsewhere.
    """

    def __init__(self,
                 pooling: str,
                 attention_layout: Optional[Sequence[int]] = None,
                 init_log_alpha: float = -5.0,
                 learnable_alpha: bool = True,
                 eps: float = 1e-6,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if pooling not in ('average', 'attention'):
            raise ValueError("pooling must be 'average' or 'attention', got "
                             f'{pooling!r}')
        self.pooling = pooling
        self.eps = eps
        if pooling == 'attention':
            if attention_layout is None or len(attention_layout) != 2:
                raise ValueError('attention pooling needs attention_layout='
                                 '(layers, heads)')
            #: s of alpha = exp(s), one per (neck layer, head)
            self.log_alpha = nn.Parameter(
                torch.full(tuple(attention_layout), float(init_log_alpha)),
                requires_grad=learnable_alpha)

    def _check_backbone(self, clip) -> None:
        if clip.pooling != self.pooling:
            raise ValueError(f'the neck pools by {self.pooling!r} but the '
                             f'backbone {type(clip).__name__} by '
                             f'{clip.pooling!r}')
        if self.pooling == 'attention' and \
                tuple(self.log_alpha.shape) != clip.mask_attention_layout:
            raise ValueError(
                f'the neck has alpha for (layers, heads) = '
                f'{tuple(self.log_alpha.shape)} but the backbone pools with '
                f'{clip.mask_attention_layout}')

    def forward(self,
                feats: Tuple[Tensor, ...],
                masks: Sequence[Tensor],
                clip: nn.Module,
                image_sizes: Optional[Sequence[Tuple[int, int]]] = None
                ) -> MaskEmbeddings:
        """Mask embeddings of every mask of every image.

        Args:
            feats: the backbone's output for a (B, 3, H, W) batch.
            masks: B tensors (Q_i, H_i, W_i), values in [0, 1], at the
                backbone's input resolution; any Q_i may be 0.
            clip: the backbone that produced ``feats``.
            image_sizes: (H_i, W_i) of every image inside the padded batch;
                default: every mask covers the whole (H, W) batch.
        """
        self._check_backbone(clip)
        grid = clip.feature_grid(feats)
        batch_size = (grid[0] * clip.stride, grid[1] * clip.stride)
        if len(masks) != feats[0].shape[0]:
            raise ValueError(f'got masks for {len(masks)} images and '
                             f'features for {feats[0].shape[0]}')
        for i, m in enumerate(masks):
            expected = tuple(image_sizes[i]) if image_sizes is not None \
                else batch_size
            if m.ndim != 3 or tuple(m.shape[-2:]) != expected:
                raise ValueError(
                    f'masks of image {i} have shape {tuple(m.shape)}; '
                    f'expected (Q, {expected[0]}, {expected[1]}), the size '
                    'of the image fed to CLIP')
        # the masks at every grid the CLIP pools at, computed once
        soft = []
        for at in clip.mask_pooling_grids(feats):
            on_grid, valid = downsample_masks(masks, batch_size, at)
            soft.append(on_grid)
        areas = soft[0].flatten(2).sum(-1)
        for later in soft[1:]:
            areas = torch.maximum(areas, later.flatten(2).sum(-1))
        if self.pooling == 'average':
            embeds = mask_average_pooling(clip, feats, soft, self.eps)
        else:
            embeds = mask_attention_pooling(clip, feats, soft[0],
                                            self.log_alpha)
        img_idx = torch.arange(len(masks), device=valid.device)
        return MaskEmbeddings(
            embeds=embeds[valid],
            areas=areas[valid],
            img_idx=img_idx[:, None].expand_as(valid)[valid],
            num_masks=[m.shape[0] for m in masks])

    def patch_embeddings(self, feats: Tuple[Tensor, ...],
                         clip: nn.Module) -> Tensor:
        """E_p: one embedding per feature-grid cell, (B, D, h, w).

        For an average-pooling CLIP the pooled layers are applied at every
        position; for an attention-pooling CLIP every cell is pooled as a
        unit mask, which is what E_p is (paper, after Eq. 3)."""
        self._check_backbone(clip)
        if self.pooling == 'average':
            return average_patch_embeddings(clip, feats)
        return attention_patch_embeddings(clip, feats, self.log_alpha)
