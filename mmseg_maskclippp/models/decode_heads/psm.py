"""Parameterized similarity modelling (PSM): mask-text logits.

Every PSM maps the similarities between N mask embeddings and the text
embeddings of Ka class synonyms to (N, Ka) logits. Inputs (all computed by
the segmentor, see :meth:`BasePSMHead.forward`):

* ``corrs``: (N, Ka, T) cosine similarity of every mask with every
  synonym under every prompt template, S = <E_m, E_t>; None for a PSM
  whose ``needs_similarities`` is False (the segmentor then skips the
  (N, Ka, T) product);
* ``mask_embeds``: (N, D) L2-normalised mask embeddings E_m;
* ``text_embeds``: (Ka, T, D) L2-normalised text embeddings E_t;
* ``num_masks``: masks per image (masks are ordered by image);
* ``patch_embeds``: (B, D, h, w) per-patch embeddings E_p, only for PSMs
  with ``needs_patch_embeddings``;
* ``logit_scale``: CLIP's constant min(exp(logit_scale), 100).

*Consistency alignment* (paper Sec. 3.2) asks that the modelled similarity
keeps the order of CLIP's own similarity. :class:`LinearPSM` only mixes the
modality-free template axis, and :class:`PseudoTextPSM` keeps E_t through a
residual connection; the variants in ``psm_ablations.py`` break the
constraint on purpose (paper Table 1).
"""
import weakref
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmseg_maskclippp.registry import MODELS


class BasePSMHead(BaseModule):
    """Interface of the PSM heads.

    Args:
        embed_dims: D, the joint embedding size.
        num_templates: T, prompt templates per synonym.

    :class:`MaskCLIPpp` fills both from its backbone and text classifier.
    """

    #: whether :meth:`forward` needs ``patch_embeds``
    needs_patch_embeddings = False
    #: mmseg's decode heads have a fixed class count (``init_model`` reads
    #: it for a checkpoint without ``dataset_meta``); a PSM scores whatever
    #: vocabulary it is given
    num_classes = None
    #: whether :meth:`forward` reads ``corrs``; when False the segmentor
    #: passes None instead of computing the (N, Ka, T) similarities
    needs_similarities = True

    def __init__(self, embed_dims: int, num_templates: int, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.num_templates = num_templates

    def forward(self,
                corrs: Tensor,
                mask_embeds: Tensor,
                text_embeds: Tensor,
                num_masks: Sequence[int],
                patch_embeds: Optional[Tensor] = None,
                logit_scale: float = 1.0) -> Tensor:
        """(N, Ka) logits; see the module docstring for the inputs."""
        raise NotImplementedError


def per_image_logits(mask_embeds: Tensor, text_per_image: Tensor,
                     num_masks: Sequence[int]) -> Tensor:
    """<m, t_b> for masks grouped by image: (N, D) masks, (B, Ka, D) text
    of each image -> (N, Ka)."""
    chunks: List[Tensor] = [
        m @ t.transpose(0, 1)
        for m, t in zip(mask_embeds.split(list(num_masks)), text_per_image)
    ]
    return torch.cat(chunks) if chunks else mask_embeds.new_zeros(
        0, text_per_image.shape[1])


@MODELS.register_module()
class LinearPSM(BasePSMHead):
    """The consistency-aligned PSM: linear layers over the template axis
    only, S (N, Ka, T) -> (N, Ka, width) -> (N, Ka), no activation.

    Two linear layers without an activation are one affine map
    (w, b) = (W_2 W_1, W_2 b_1 + b_2) over the template axis, and the
    template axis is the last one of S = <E_m, E_t>, so at inference

        s * S w + b = s * <E_m, sum_t w_t E_t> + b,

    one (N, D) x (D, Ka) product with the template-folded text instead of
    the (N, Ka, T) similarities and the (N, Ka, width) hidden layer. The
    fold is recomputed from the current weights at every forward (a
    (1, width) x (width, T) product), so it can never be stale. Training
    runs the two layers as they are (the official parametrisation).

    Args:
        width: hidden size (768 in every paper config).
        use_logit_scale: multiply the similarities by CLIP's logit scale
            first (the paper's ViT and ResNet configs).
        init_as_mean: start as the template mean instead of PyTorch's
            default initialisation: the second layer is solved so that the
            composite map is (1/T, ..., 1/T). Useful with very few
            templates, where a random start can stall training.
        fold_inference: in eval mode, use the folded map (equal to the two
            layers up to float rounding); False runs the two layers over
            the (N, Ka, T) similarities, the reference path.
    """

    def __init__(self,
                 embed_dims: int,
                 num_templates: int,
                 width: int = 768,
                 use_logit_scale: bool = True,
                 init_as_mean: bool = False,
                 fold_inference: bool = True,
                 init_cfg=None):
        super().__init__(embed_dims, num_templates, init_cfg=init_cfg)
        self.use_logit_scale = use_logit_scale
        self.fold_inference = fold_inference
        self.expand = nn.Linear(num_templates, width)
        self.reduce = nn.Linear(width, 1)
        if init_as_mean:
            if width < num_templates:
                raise ValueError('init_as_mean needs width >= num_templates')
            with torch.no_grad():
                target = torch.full((1, num_templates), 1.0 / num_templates)
                self.reduce.weight.copy_(
                    target @ torch.linalg.pinv(self.expand.weight))
                self.expand.bias.zero_()
                self.reduce.bias.zero_()

    @property
    def needs_similarities(self) -> bool:
        """The two layers (training, or ``fold_inference=False``) read the
        (N, Ka, T) similarities; the folded map does not."""
        return self.training or not self.fold_inference

    def folded(self) -> Tuple[Tensor, Tensor]:
        """The composite affine map of the two layers, from the current
        weights: (T,) template weights w and the () bias b."""
        weight = (self.reduce.weight @ self.expand.weight)[0]
        bias = (self.reduce.weight @ self.expand.bias + self.reduce.bias)[0]
        return weight, bias

    def forward(self, corrs, mask_embeds, text_embeds, num_masks,
                patch_embeds=None, logit_scale=1.0):
        if text_embeds.shape[1] != self.num_templates:
            raise ValueError(f'LinearPSM was built for {self.num_templates} '
                             f'templates, got {text_embeds.shape[1]}')
        scale = logit_scale if self.use_logit_scale else 1.0
        if not self.needs_similarities:
            weight, bias = self.folded()
            # sum_t (s w_t) E_t in the weights' precision (a batched
            # (T,) x (T, D) product: no copy of E_t), then one product
            text = torch.matmul(weight * scale,
                                text_embeds.to(weight.dtype)).to(
                                    mask_embeds.dtype)
            return torch.addmm(bias.to(mask_embeds.dtype), mask_embeds,
                               text.t())
        if corrs is None:
            raise ValueError(
                'LinearPSM needs the (N, Ka, T) similarities corrs in '
                'training mode and with fold_inference=False')
        if scale != 1.0:
            corrs = corrs * scale
        return self.reduce(self.expand(corrs)).squeeze(-1)


@MODELS.register_module()
class PseudoTextPSM(BasePSMHead):
    """S = <E_m, LN(E_t + P_t)> with P_t = Attention(q(E_t), k(E_p), v(E_p))
    (paper Eq. 3): the template-averaged text embeddings of each image
    attend to its projected patch embeddings; the residual E_t keeps the
    alignment consistent.

    Logits are <normalised E_m, LN(...)> without a further normalisation,
    so their scale is that of the LayerNorm output (about sqrt(D)).

    At inference (eval mode, no autograd) two linear maps are taken out of
    the per-image work, with the same values up to float rounding:

    * the patch projection W_p is folded into the key and value
      projections, k(W_p E_p) = (W_k W_p) E_p + b_k (likewise v);
    * the query projection of the vocabulary, q(E_t), does not depend on
      the image: it is computed once and kept until the text embeddings or
      the weights change (:class:`InferenceTextCache`).

    Training, and eval with autograd on, run ``nn.MultiheadAttention`` as
    it is (the official parametrisation, with attention dropout).

    Args:
        num_heads: attention heads (8).
        attn_drop: dropout on the attention probabilities (0.1).
        normalize_patches: L2-normalise E_p before the projection.
        detach_patches: stop gradients into E_p.
        text_residual: keep E_t in the sum; False gives the paper's
            <E_m, LN(P_t)> ablation, which breaks consistency alignment.
        fold_inference: use the folded projections and the kept query at
            inference; False always runs the reference path.
    """

    needs_patch_embeddings = True
    needs_similarities = False

    def __init__(self,
                 embed_dims: int,
                 num_templates: int,
                 num_heads: int = 8,
                 attn_drop: float = 0.1,
                 normalize_patches: bool = True,
                 detach_patches: bool = False,
                 text_residual: bool = True,
                 fold_inference: bool = True,
                 init_cfg=None):
        super().__init__(embed_dims, num_templates, init_cfg=init_cfg)
        self.normalize_patches = normalize_patches
        self.detach_patches = detach_patches
        self.text_residual = text_residual
        self.fold_inference = fold_inference
        self.patch_proj = nn.Linear(embed_dims, embed_dims, bias=False)
        self.attention = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=attn_drop, batch_first=True)
        self.norm = nn.LayerNorm(embed_dims)
        self._inference_cache = InferenceTextCache()

    def _uses_folded_path(self) -> bool:
        return self.fold_inference and not self.training \
            and not torch.is_grad_enabled()

    def pseudo_text(self, text_embeds: Tensor, patch_embeds: Tensor) -> Tensor:
        """LN(E_t + P_t) of every image: (Ka, T, D), (B, D, h, w) ->
        (B, Ka, D)."""
        patches = patch_embeds.flatten(2).transpose(1, 2)
        if self.detach_patches:
            patches = patches.detach()
        if self.normalize_patches:
            patches = F.normalize(patches, dim=-1)
        if self._uses_folded_path():
            text, attended = self._folded_attention(text_embeds, patches)
        else:
            patches = self.patch_proj(patches)
            text = F.normalize(text_embeds.mean(1), dim=-1)
            text = text[None].expand(patches.shape[0], -1, -1)
            attended = self.attention(text, patches, patches,
                                      need_weights=False)[0]
        return self.norm(text + attended if self.text_residual else attended)

    def _folded_attention(self, text_embeds: Tensor,
                          patches: Tensor) -> Tuple[Tensor, Tensor]:
        """E_t (1, Ka, D) and P_t (B, Ka, D) from (B, hw, D) patches that
        are not yet projected, with the kept query and the folded key and
        value projections (multi-head attention written out: in-projection,
        scaled dot-product attention per head, out-projection)."""
        text, query, kv_weight, kv_bias = self._inference_cache.get(
            self, text_embeds)
        b, n, d = patches.shape
        heads = self.attention.num_heads
        kv = F.linear(patches, kv_weight.to(patches.dtype),
                      kv_bias.to(patches.dtype))
        key, value = kv.view(b, n, 2, heads, d // heads).permute(2, 0, 3, 1, 4)
        query = query.to(patches.dtype).view(1, -1, heads, d // heads)
        query = query.transpose(1, 2).expand(b, -1, -1, -1)
        out = F.scaled_dot_product_attention(query, key, value)
        out = out.transpose(1, 2).reshape(b, -1, d)
        return text[None], self.attention.out_proj(out)

    def forward(self, corrs, mask_embeds, text_embeds, num_masks,
                patch_embeds=None, logit_scale=1.0):
        if patch_embeds is None:
            raise ValueError('PseudoTextPSM needs patch_embeds')
        return per_image_logits(mask_embeds,
                                self.pseudo_text(text_embeds, patch_embeds),
                                num_masks)


class InferenceTextCache:
    """What :class:`PseudoTextPSM` computes once per vocabulary at
    inference: the normalised template mean E_t (Ka, D), its query
    projection q(E_t) (Ka, D), and the key/value projections with W_p
    folded in, (2D, D) and (2D,).

    The entry is recomputed when the text embeddings are another tensor
    (a new vocabulary) or were modified in place, and when any weight it
    was computed from differs from the copy kept with it (a training step,
    ``load_state_dict``, a move to another device or dtype): the weights
    are compared by value, so nothing can go stale. Computed in the
    weights' precision with autocast off.
    """

    def __init__(self):
        self._text = None
        self._text_version = None
        self._weights: Tuple[Tensor, ...] = ()
        self._values: Tuple[Tensor, ...] = ()

    def __getstate__(self) -> dict:
        return {}  # a pickled model starts with an empty cache

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    @staticmethod
    def _source_weights(psm: 'PseudoTextPSM') -> Tuple[Tensor, ...]:
        attention = psm.attention
        return (attention.in_proj_weight, attention.in_proj_bias,
                psm.patch_proj.weight)

    def _weights_unchanged(self, weights: Sequence[Tensor]) -> bool:
        return len(self._weights) == len(weights) and all(
            kept.device == w.device and kept.dtype == w.dtype
            and torch.equal(kept, w)
            for kept, w in zip(self._weights, weights))

    def get(self, psm: 'PseudoTextPSM',
            text_embeds: Tensor) -> Tuple[Tensor, ...]:
        weights = self._source_weights(psm)
        text = self._text() if self._text is not None else None
        if text is text_embeds \
                and self._text_version == text_embeds._version \
                and self._weights_unchanged(weights):
            return self._values
        in_weight, in_bias, patch_weight = weights
        d = patch_weight.shape[0]
        with torch.autocast(text_embeds.device.type, enabled=False):
            mean = F.normalize(
                text_embeds.to(in_weight.dtype).mean(1), dim=-1)
            query = F.linear(mean, in_weight[:d], in_bias[:d])
            kv_weight = in_weight[d:] @ patch_weight
        self._text = weakref.ref(text_embeds)
        self._text_version = text_embeds._version
        self._weights = tuple(w.detach().clone() for w in weights)
        self._values = (mean, query, kv_weight, in_bias[d:].clone())
        return self._values
