"""The interface of mask generators (used at inference only)."""
from dataclasses import dataclass
from typing import List, Optional, Sequence

from mmengine.model import BaseModule
from torch import Tensor

from mmseg_maskclippp.vocabulary import Vocabulary


@dataclass
class GeneratedMasks:
    """Masks proposed for one image.

    Attributes:
        masks: (Q, H, W) soft masks in [0, 1] at the size of the image given
            to the generator.
        logits: (Q, K_g + 1) class logits of the generator over its own
            vocabulary, void last; None for generators without classes.
        labels: (Q,) ground-truth class of each mask (GT oracle only, for
            mask-classification accuracy).
    """
    masks: Tensor
    logits: Optional[Tensor] = None
    labels: Optional[Tensor] = None

    def __post_init__(self):
        if self.masks.ndim != 3:
            raise ValueError(f'masks must be (Q, H, W), got '
                             f'{tuple(self.masks.shape)}')
        q = self.masks.shape[0]
        if self.logits is not None and (self.logits.ndim != 2
                                        or self.logits.shape[0] != q):
            raise ValueError(f'logits must be ({q}, K + 1), got '
                             f'{tuple(self.logits.shape)}')
        if self.labels is not None and tuple(self.labels.shape) != (q, ):
            raise ValueError(f'labels must be ({q},), got '
                             f'{tuple(self.labels.shape)}')


class BaseMaskGenerator(BaseModule):
    """A frozen source of masks for :class:`MaskCLIPpp` at inference.

    Subclasses implement :meth:`forward`. A generator whose masks come with
    class logits sets :attr:`vocabulary` (its training classes, in logit
    order); the segmentor then combines them with CLIP (Eq. 4).
    """

    #: classes of ``GeneratedMasks.logits`` (void excluded), or None
    vocabulary: Optional[Vocabulary] = None

    def forward(self, images: Sequence[Tensor],
                data_samples: Sequence) -> List[GeneratedMasks]:
        """Masks for every image.

        Args:
            images: B tensors (3, H_i, W_i), RGB on the 0..255 scale, as the
                test pipeline produced them (unpadded).
            data_samples: the images' data samples (annotations, metainfo).
        """
        raise NotImplementedError

    def train(self, mode: bool = True):
        """Generators are frozen: always in eval mode."""
        return super().train(False)
