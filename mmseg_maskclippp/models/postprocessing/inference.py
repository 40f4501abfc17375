"""From classified masks to semantic, panoptic and instance results.

``scores`` are per-mask class probabilities, (Q, K) or (Q, K + 1) with a
void column last (generators that predict void); ``masks`` are (Q, H, W)
soft masks in [0, 1]. Thresholds follow Mask2Former / the official
MaskCLIP++ code.
"""
from typing import Optional

import torch
from mmdet.structures.mask import mask2bbox
from mmengine.structures import InstanceData
from torch import Tensor

#: mmdet's panoptic id encoding: id = label + instance * INSTANCE_OFFSET
INSTANCE_OFFSET = 1000


def semantic_inference(scores: Tensor, masks: Tensor,
                       num_classes: int) -> Tensor:
    """sum_q P(q, c) * mask_q: (K, H, W) class scores; a void column, if
    any, is dropped (so masks the generator calls void count less)."""
    return torch.einsum('qk,qhw->khw', scores[:, :num_classes].to(masks),
                        masks)


def semantic_labels(scores: Tensor,
                    masks: Tensor,
                    num_classes: int,
                    chunk_pixels: int = 8192) -> Tensor:
    """The argmax over classes of :func:`semantic_inference`, without the
    (K, H, W) map: class scores are computed for ``chunk_pixels`` pixels
    at a time (the same products, column by column), so the extra memory
    is (K, chunk) floats and the (H, W) labels.

    Returns:
        (H, W) int64 class indices; ties go to the lower class, as
        ``argmax`` of the full map does.
    """
    if chunk_pixels < 1:
        raise ValueError(f'chunk_pixels must be >= 1, got {chunk_pixels}')
    probs = scores[:, :num_classes].to(masks).t()
    pixels = masks.flatten(1)
    labels = torch.empty(pixels.shape[1], dtype=torch.long,
                         device=masks.device)
    for start in range(0, pixels.shape[1], chunk_pixels):
        stop = start + chunk_pixels
        labels[start:stop] = (probs @ pixels[:, start:stop]).argmax(0)
    return labels.view(masks.shape[-2:])


def panoptic_inference(scores: Tensor,
                       masks: Tensor,
                       num_classes: int,
                       is_thing: Tensor,
                       object_mask_threshold: float = 0.8,
                       overlap_threshold: float = 0.8) -> Tensor:
    """Mask2Former-style panoptic merging.

    A mask is kept when its best class (void included) is not void and
    scores above ``object_mask_threshold``; each pixel is owned by the kept
    mask with the highest score * mask value. A kept mask whose owned area
    is less than ``overlap_threshold`` of its own (mask >= 0.5) area is
    dropped; otherwise its segment is the pixels it owns where its mask
    is >= 0.5, so weakly covered pixels (every mask < 0.5) stay void, as
    in the official code. Stuff regions of one class are merged.

    Args:
        is_thing: (K,) bool, thing classes get one id per instance.

    Returns:
        (H, W) int64 map of ``label + instance * INSTANCE_OFFSET``
        (instance 0 for stuff); unassigned pixels are ``num_classes``.
    """
    best, labels = scores.max(-1)
    keep = (labels < num_classes) & (best > object_mask_threshold)
    best, labels, masks = best[keep], labels[keep], masks[keep]
    h, w = masks.shape[-2:]
    panoptic = torch.full((h, w), num_classes, dtype=torch.long,
                          device=masks.device)
    if not len(masks):
        return panoptic
    owner = (best[:, None, None] * masks).argmax(0)
    instance = 1
    for k in range(len(masks)):
        label = int(labels[k])
        owned = owner == k
        inside = masks[k] >= 0.5
        segment = owned & inside
        owned_area = int(owned.sum())
        original_area = int(inside.sum())
        if owned_area == 0 or original_area == 0 or not segment.any():
            continue
        if owned_area / original_area < overlap_threshold:
            continue
        if bool(is_thing[label]):
            panoptic[segment] = label + instance * INSTANCE_OFFSET
            instance += 1
        else:
            panoptic[segment] = label
    return panoptic


def instance_inference(scores: Tensor,
                       masks: Tensor,
                       num_classes: int,
                       is_thing: Optional[Tensor] = None,
                       max_per_image: int = 100) -> InstanceData:
    """Top-k (mask, class) pairs as instances.

    The top ``max_per_image`` of all Q x K class probabilities (void
    dropped) are taken; pairs of stuff classes are then removed. Instance
    score = class probability * mean mask value inside mask > 0.5.

    Returns:
        InstanceData with ``masks`` (N, H, W) bool, ``labels``, ``scores``
        and ``bboxes`` (N, 4) from the masks, as mmdet's CocoMetric reads.
    """
    probs = scores[:, :num_classes]
    k = min(max_per_image, probs.numel())
    top, index = probs.flatten().topk(k)
    query = torch.div(index, num_classes, rounding_mode='floor')
    labels = index % num_classes
    if is_thing is not None:
        keep = is_thing.to(labels.device)[labels]
        top, query, labels = top[keep], query[keep], labels[keep]
    soft = masks[query]
    binary = soft > 0.5
    mask_score = (soft * binary).flatten(1).sum(1) / (
        binary.flatten(1).sum(1) + 1e-6)
    result = InstanceData()
    result.masks = binary
    result.labels = labels
    result.scores = top * mask_score
    result.bboxes = mask2bbox(binary)
    return result
