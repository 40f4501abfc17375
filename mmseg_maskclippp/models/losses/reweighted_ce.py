"""Class-reweighted cross-entropy over GT masks."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmseg_maskclippp.registry import MODELS


def mask_loss_weights(labels: Tensor, img_idx: Tensor,
                      balance_classes: bool = True) -> Tensor:
    """Per-mask weights that give every image the same total weight.

    With ``balance_classes`` the weight of a mask of class c in image b is
    1 / (B' * C_b * n_bc), B' the number of images that have masks, C_b the
    number of classes in image b and n_bc the number of its masks of class
    c: images count equally, classes equally within an image, masks equally
    within a class. Without it every mask of image b weighs 1 / (B' * Q_b).

    Args:
        labels: (N,) class of every mask.
        img_idx: (N,) image of every mask.

    Returns:
        (N,) weights summing to 1 (empty if N == 0).
    """
    if labels.numel() == 0:
        return labels.new_zeros(0, dtype=torch.float)
    images, image_of_mask = torch.unique(img_idx, return_inverse=True)
    num_images = len(images)
    if balance_classes:
        # one group per (image, class) pair
        pairs = image_of_mask * (int(labels.max()) + 1) + labels
        groups, group_of_mask, per_group = torch.unique(
            pairs, return_inverse=True, return_counts=True)
        image_of_group = torch.div(groups, int(labels.max()) + 1,
                                   rounding_mode='floor')
        classes_per_image = torch.bincount(image_of_group,
                                           minlength=num_images)
        denominator = (classes_per_image[image_of_mask] *
                       per_group[group_of_mask])
    else:
        denominator = torch.bincount(image_of_mask)[image_of_mask]
    return 1.0 / (num_images * denominator.float())


@MODELS.register_module()
class ReweightedCrossEntropyLoss(nn.Module):
    """Cross-entropy of mask logits, reweighted per image and class.

    Args:
        balance_classes: weight 1 / (B' * C_b * n_bc) (True, every paper
            config) or 1 / (B' * Q_b); see :func:`mask_loss_weights`.
        ignore_empty_masks: drop masks whose area vanished at the CLIP
            feature resolution before weighting (the paper's ViT and ResNet
            configs).
        temperature: logits are divided by it.
        loss_weight: multiplies the loss.
        loss_name: key of the loss in the returned dict; must start with
            ``loss``.
    """

    def __init__(self,
                 balance_classes: bool = True,
                 ignore_empty_masks: bool = False,
                 temperature: float = 1.0,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_mask_cls'):
        super().__init__()
        if not loss_name.startswith('loss'):
            raise ValueError(f'loss_name must start with "loss", got '
                             f'{loss_name!r}')
        self.balance_classes = balance_classes
        self.ignore_empty_masks = ignore_empty_masks
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    def forward(self,
                logits: Tensor,
                labels: Tensor,
                img_idx: Tensor,
                areas: Optional[Tensor] = None) -> Tensor:
        """Scalar loss.

        Args:
            logits: (N, K) mask logits over the training classes.
            labels: (N,) GT class of every mask, in [0, K).
            img_idx: (N,) image of every mask.
            areas: (N,) mask areas at feature resolution, needed with
                ``ignore_empty_masks``.

        Returns:
            sum over masks of weight * CE; 0 (still attached to ``logits``)
            when no mask is left.
        """
        if labels.numel() and (labels.min() < 0
                               or labels.max() >= logits.shape[1]):
            raise ValueError(
                f'mask labels must lie in [0, {logits.shape[1]}), got '
                f'[{int(labels.min())}, {int(labels.max())}]')
        if self.ignore_empty_masks:
            if areas is None:
                raise ValueError('ignore_empty_masks needs the mask areas')
            keep = areas > 0
            logits, labels, img_idx = logits[keep], labels[keep], img_idx[keep]
        weights = mask_loss_weights(labels, img_idx, self.balance_classes)
        ce = F.cross_entropy(
            logits / self.temperature, labels, reduction='none')
        return self.loss_weight * (weights.to(ce.dtype) * ce).sum()
