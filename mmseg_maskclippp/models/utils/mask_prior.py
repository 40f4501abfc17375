"""Mask priors shared by every CLIP family: the weighting function phi.

Notation: B images, Q masks per image (padded to the largest count in the
batch), (H, W) the CLIP input size, (h, w) the CLIP feature grid, L layers
and heads the attention layout of an attention-pooling CLIP.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

#: Attention bias outside a mask. Finite (not -inf) so that an empty mask
#: attends uniformly to every patch instead of producing NaN.
OUTSIDE_MASK_BIAS = -100.0


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


def mask_average_weights(soft_masks: Tensor, eps: float = 1e-6) -> Tensor:
    """phi of Eq. 1 for average-pooling CLIPs: L1-normalised soft masks.

    Args:
        soft_masks: (B, Q, h, w) masks at feature resolution.

    Returns:
        (B, Q, h*w) weights; a vanished mask gets all-zero weights.
    """
    flat = soft_masks.flatten(2)
    return flat / (flat.sum(-1, keepdim=True) + eps)


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


def split_valid(padded: Tensor, valid: Tensor) -> List[Tensor]:
    """Undo padding: (B, Q, ...) + (B, Q) bool -> B tensors (Q_i, ...)."""
    return [p[v] for p, v in zip(padded, valid)]


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
