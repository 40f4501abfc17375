"""Eq. 1 of the paper: mask-average pooling, for CLIPs that average-pool.

    E_m = Proj( sum_ij phi(M)_ij * F_ij ),   phi(M) = M / (sum M + eps)

with M the soft mask bilinearly downsampled to the feature grid (by
:class:`~.mask_pooling.MaskPoolingNeck`), F the (B, C, h, w) map that CLIP
averages (``backbone.dense_map``) and Proj CLIP's layers after the pool
(``backbone.project``). Used by ConvNeXt CLIPs and average-pooling ViTs.

Notation: B images, Q masks per image (padded), (h, w) the feature grid,
C the map channels, D the embedding size.
"""
from typing import Sequence, Tuple

import torch
from torch import Tensor, nn


def mask_average_weights(soft_masks: Tensor, eps: float = 1e-6) -> Tensor:
    """phi of Eq. 1: L1-normalised soft masks.

    Args:
        soft_masks: (B, Q, h, w) masks at feature resolution.

    Returns:
        (B, Q, h*w) weights; a vanished mask gets all-zero weights.
    """
    flat = soft_masks.flatten(2)
    return flat / (flat.sum(-1, keepdim=True) + eps)


def masked_average(weights: Tensor, feature_map: Tensor) -> Tensor:
    """The sum of Eq. 1, sum_ij weights[q, ij] * F[:, i, j]:
    (B, Q, h*w) x (B, C, h, w) -> (B, Q, C)."""
    return torch.bmm(weights.to(feature_map.dtype),
                     feature_map.flatten(2).transpose(1, 2))


def mask_average_pooling(clip: nn.Module, feats: Tuple[Tensor, ...],
                         soft_masks: Sequence[Tensor],
                         eps: float = 1e-6) -> Tensor:
    """Eq. 1: mask embeddings (B, Q, D).

    Args:
        clip: an average-pooling CLIP-V backbone.
        feats: its ``forward`` output.
        soft_masks: (B, Q, h, w) soft masks at every grid of
            ``clip.mask_pooling_grids(feats)``; one grid (the map CLIP
            averages) except for a ConvNeXt whose masks enter before its
            last stage (``mask_prior_stage`` < 5), which pools at each
            stage from there on (``clip.pool_through_stages``).
    """
    weights = [mask_average_weights(soft, eps) for soft in soft_masks]
    if len(weights) == 1:
        pooled = masked_average(weights[0], clip.dense_map(feats))
    else:
        pooled = clip.pool_through_stages(feats, weights)
    return clip.project(pooled)


def average_patch_embeddings(clip: nn.Module,
                             feats: Tuple[Tensor, ...]) -> Tensor:
    """E_p of an average-pooling CLIP, (B, D, h, w): Proj applied at every
    position of the map CLIP averages."""
    fmap = clip.dense_map(feats)
    return clip.project(fmap.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
