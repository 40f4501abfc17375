"""Eq. 2 of the paper: mask-attention pooling, for CLIPs that attention-pool.

Each mask asks CLIP's attention pooling one question: a query per mask
attends to the patch keys with the additive bias

    B_l = alpha_l * M_soft   inside M_bin,   -100 outside,

with M_soft the mask bilinearly downsampled to the feature grid (by
:class:`~.mask_pooling.MaskPoolingNeck`), M_bin the patches above half the
mask's maximum and alpha_l = exp(s_l), s learnable per (layer, head). The
neck computes the biases of every layer once (:func:`mask_attention_biases`);
the backbone runs its attention layers with them
(``backbone.attend_masks(feats, biases)``), each through
:func:`mask_query_attention`. Used by CLS-token ViTs (mask tokens in the
last blocks), EVA ViTs and ResNets (their single attention pool).

Notation: B images, Q masks per image (padded), (h, w) the feature grid,
L layers and ``heads`` the attention layout of the CLIP
(``backbone.mask_attention_layout``).
"""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: Attention bias outside a mask. Finite (not -inf) so that an empty mask
#: attends uniformly to every patch instead of producing NaN.
OUTSIDE_MASK_BIAS = -100.0


def binarize_masks(soft_masks: Tensor) -> Tensor:
    """M_bin of Eq. 2: a patch is inside a mask when its soft value is
    strictly above half of that mask's maximum. (B, Q, h, w) -> (B, Q, h*w)
    bool; an empty mask has no patch inside."""
    flat = soft_masks.flatten(2)
    return flat > flat.amax(-1, keepdim=True) / 2


def mask_attention_bias(soft_masks: Tensor, inside: Tensor,
                        log_alpha: Tensor) -> Tensor:
    """The additive attention bias of Eq. 2 for one attention layer.

    Inside the binarised mask the bias is alpha * M_soft with
    alpha = exp(log_alpha) per head; outside it is ``OUTSIDE_MASK_BIAS``.

    Args:
        soft_masks: (B, Q, h*w) soft masks at feature resolution.
        inside: (B, Q, h*w) bool, from :func:`binarize_masks`.
        log_alpha: (heads,) learnable log-scale of this layer.

    Returns:
        (B, heads, Q, h*w) bias for queries = masks, keys = patches.
    """
    alpha = log_alpha.exp().to(soft_masks.dtype)[None, :, None, None]
    inside_bias = alpha * soft_masks[:, None]
    outside = torch.full_like(inside_bias, OUTSIDE_MASK_BIAS)
    return torch.where(inside[:, None], inside_bias, outside)


def mask_attention_biases(soft_masks: Tensor, inside: Tensor,
                          log_alpha: Tensor) -> List[Tensor]:
    """The Eq. 2 bias of every layer: (L, heads) ``log_alpha`` -> L
    tensors (B, heads, Q, h*w) (:func:`mask_attention_bias`)."""
    return [mask_attention_bias(soft_masks, inside, s) for s in log_alpha]


def mask_query_attention(q: Tensor, k: Tensor, v: Tensor,
                         bias: Tensor) -> Tensor:
    """Attention of mask queries over patch keys with an Eq. 2 bias.

    Args:
        q: (B, heads, Q, d) queries, one per mask.
        k, v: (B, heads, N, d) keys and values of the N patch tokens.
        bias: (B, heads, Q, N) additive bias (:func:`mask_attention_bias`).

    Returns:
        (B, Q, heads * d), heads concatenated.
    """
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
    return out.transpose(1, 2).flatten(2)


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """(B, N, heads * d) -> (B, heads, N, d)."""
    b, n, c = x.shape
    return x.view(b, n, num_heads, c // num_heads).transpose(1, 2)


def mask_attention_pooling(clip: nn.Module, feats: Tuple[Tensor, ...],
                           soft_masks: Tensor, log_alpha: Tensor) -> Tensor:
    """Eq. 2: mask embeddings (B, Q, D).

    Args:
        clip: an attention-pooling CLIP-V backbone.
        feats: its ``forward`` output.
        soft_masks: (B, Q, h, w) soft masks on ``clip.feature_grid(feats)``.
        log_alpha: (L, heads) s of alpha = exp(s).
    """
    inside = binarize_masks(soft_masks)
    return clip.attend_masks(
        feats, mask_attention_biases(soft_masks.flatten(2), inside,
                                     log_alpha))


def attention_patch_embeddings(clip: nn.Module, feats: Tuple[Tensor, ...],
                               log_alpha: Tensor) -> Tensor:
    """E_p of an attention-pooling CLIP, (B, D, h, w): every feature-grid
    cell pooled as a unit mask (paper, after Eq. 3)."""
    h, w = clip.feature_grid(feats)
    batch = feats[0].shape[0]
    unit = torch.eye(h * w, device=feats[0].device).expand(batch, -1, -1)
    embeds = clip.attend_masks(
        feats, mask_attention_biases(unit, unit.bool(), log_alpha))
    return embeds.transpose(1, 2).reshape(batch, -1, h, w)
