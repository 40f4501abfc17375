"""PSM variants of the paper's Table 1 ablation, and CLIP without a PSM.

:class:`MeanTemplatePSM` is plain CLIP: the template-averaged similarity
times CLIP's logit scale. The two linear updates of an embedding are what
the paper shows to break consistency alignment: they can fit the training
classes while the order of CLIP's own similarities is lost. As in the
paper's ablation they start from PyTorch's default initialisation, so their
initial similarity is not CLIP's; ``init_identity=True`` starts them as the
identity (equal to plain CLIP before training) instead.
"""
import torch
import torch.nn.functional as F
from torch import nn

from mmseg_maskclippp.registry import MODELS
from .psm import BasePSMHead


@MODELS.register_module()
class MeanTemplatePSM(BasePSMHead):
    """No PSM: logit_scale * mean over templates of <E_m, E_t>, computed
    as <E_m, mean over templates of E_t> (one (N, D) x (D, Ka) product)."""

    needs_similarities = False

    def forward(self, corrs, mask_embeds, text_embeds, num_masks,
                patch_embeds=None, logit_scale=1.0):
        return (mask_embeds @ text_embeds.mean(1).t()) * logit_scale


class _LinearEmbeddingUpdate(BasePSMHead):
    """logit_scale * cos(., .) after a D x D linear map on one of the two
    embeddings; text is template-averaged.

    Args:
        init_identity: start the map as the identity instead of PyTorch's
            default ``nn.Linear`` initialisation (the paper's ablation).
    """

    needs_similarities = False

    def __init__(self, embed_dims, num_templates, init_identity=False,
                 init_cfg=None):
        super().__init__(embed_dims, num_templates, init_cfg=init_cfg)
        self.update = nn.Linear(embed_dims, embed_dims)
        if init_identity:
            with torch.no_grad():
                self.update.weight.copy_(torch.eye(embed_dims))
                self.update.bias.zero_()

    def _embeddings(self, mask_embeds, text):
        raise NotImplementedError

    def forward(self, corrs, mask_embeds, text_embeds, num_masks,
                patch_embeds=None, logit_scale=1.0):
        text = F.normalize(text_embeds.mean(1), dim=-1)
        masks, text = self._embeddings(mask_embeds, text)
        return logit_scale * F.normalize(masks, dim=-1) @ F.normalize(
            text, dim=-1).t()


@MODELS.register_module()
class LinearMaskEmbeddingPSM(_LinearEmbeddingUpdate):
    """<Theta E_m, E_t>: breaks consistency alignment (paper Table 1)."""

    def _embeddings(self, mask_embeds, text):
        return self.update(mask_embeds), text


@MODELS.register_module()
class LinearTextEmbeddingPSM(_LinearEmbeddingUpdate):
    """<E_m, Theta E_t>: breaks consistency alignment (paper Table 1)."""

    def _embeddings(self, mask_embeds, text):
        return mask_embeds, self.update(text)
