"""CLIP ConvNeXt (open_clip ``TimmModel`` around a timm ConvNeXt trunk).

CLIP pools the last stage map with a global average, so mask embeddings are
mask-average pooled (Eq. 1) and then go through the layers after the pool:
the trunk's head norm and the CLIP projection.
"""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from mmseg_maskclippp.registry import MODELS
from ..necks.mask_average_pooling import masked_average
from .base import OpenCLIPVisualBackbone, check_input


@MODELS.register_module()
class CLIPConvNeXt(OpenCLIPVisualBackbone):
    """CLIP-V of open_clip's ConvNeXt models (``convnext_base_w_320``,
    ``convnext_large_d_320``, ``convnext_xxlarge``, ...).

    ``forward`` returns the four stage maps (strides 4, 8, 16, 32), like any
    mmseg backbone; mask pooling uses the last one.

    Args:
        mask_prior_stage: where the masks enter CLIP (the official
            ``MASK_PRIOR_BEG``). 5 (default, every paper config): pool the
            output of the last stage. k in 2..4: the mask embeddings start
            as the pooled input of stage k and travel through every later
            downsample layer and block as 1x1 maps, adding the pooled
            output of each of them (an experimental variant of the official
            code; it recomputes stages k..4 for the pooled maps). Stage 1
            cannot be used: its downsample layer is an identity.
        channels_last: run the trunk in channels-last memory format
            (weights and input). The same values up to float rounding;
            faster, because every ConvNeXt block permutes its map to
            channels-last for its LayerNorm and MLP (see
            ``docs/speed.md``).
        **kwargs: see :class:`OpenCLIPVisualBackbone`.
    """

    pooling = 'average'
    default_finetune = 'all'

    def __init__(self,
                 *args,
                 mask_prior_stage: int = 5,
                 channels_last: bool = False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.channels_last = channels_last
        if channels_last:
            self.clip.to(memory_format=torch.channels_last)
        if mask_prior_stage not in (2, 3, 4, 5):
            raise ValueError(
                'mask_prior_stage must be 2, 3, 4 or 5 (after the last '
                f'stage), got {mask_prior_stage}')
        self.mask_prior_stage = mask_prior_stage

    def _check_family(self) -> None:
        trunk = getattr(self.clip, 'trunk', None)
        if trunk is None or not hasattr(trunk, 'stages') \
                or not hasattr(trunk, 'stem'):
            raise TypeError(
                f'{self.model_name!r} is not an open_clip timm ConvNeXt '
                'model; use CLIPViT, CLIPEVAViT or CLIPResNet (or '
                "type='OpenCLIPVisual' to pick automatically)")

    def _is_finetuned_in_attention_scope(self, name: str) -> bool:
        raise ValueError("finetune='attention' is for ViTs; CLIP ConvNeXt "
                         "fine-tunes 'all' (paper) or 'none'")

    @property
    def stride(self) -> int:
        return 32

    # ------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(B, 3, H, W) normalised images -> four (B, C_i, H/s_i, W/s_i)
        stage maps, the last one already through ``norm_pre``."""
        check_input(x, self.stride, type(self).__name__)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        trunk = self.clip.trunk
        x = trunk.stem(x)
        outs = []
        for stage in trunk.stages:
            x = stage(x)
            outs.append(x)
        outs[-1] = trunk.norm_pre(outs[-1])
        return tuple(outs)

    def dense_map(self, feats: Tuple[Tensor, ...]) -> Tensor:
        return feats[-1]

    def project(self, pooled: Tensor) -> Tensor:
        """Proj of Eq. 1: head norm + CLIP projection, (..., C) -> (..., D).

        Each pooled vector is treated as a 1x1 map and passed through the
        trunk's head (its global pool is then an identity)."""
        lead = pooled.shape[:-1]
        x = pooled.reshape(-1, pooled.shape[-1], 1, 1)
        x = self.clip.head(self.clip.trunk.forward_head(x))
        return x.reshape(*lead, x.shape[-1])

    def mask_pooling_grids(
            self, feats: Tuple[Tensor, ...]) -> List[Tuple[int, int]]:
        """The grid of the last stage, or with ``mask_prior_stage`` k < 5
        the input grid of stage k and the output grid of every stage from
        k on (what :meth:`pool_through_stages` pools at)."""
        if self.mask_prior_stage == 5:
            return super().mask_pooling_grids(feats)
        return [
            tuple(f.shape[-2:]) for f in feats[self.mask_prior_stage - 2:]
        ]

    def pool_through_stages(self, feats: Tuple[Tensor, ...],
                            weights: Sequence[Tensor]) -> Tensor:
        """Pooled features (B, Q, C) for ``mask_prior_stage`` k < 5.

        Args:
            feats: ``forward``'s output.
            weights: the Eq. 1 weights (B, Q, h*w) at every grid of
                :meth:`mask_pooling_grids`.
        """
        k = self.mask_prior_stage
        x = feats[k - 2]
        embs = masked_average(weights[0], x)
        b, q, _ = embs.shape
        for stage, at_grid in zip(self.clip.trunk.stages[k - 1:],
                                  weights[1:]):
            x = stage.downsample(x)
            # the embedding as a 2x2 map of identical values, downsampled
            # to 1x1 by the same layer
            e = embs.reshape(b * q, -1, 1, 1).expand(-1, -1, 2, 2)
            e = stage.downsample(e).reshape(b, q, -1)
            embs = e + masked_average(at_grid, x)
            for block in stage.blocks:
                x = block(x)
                e = block(embs.reshape(b * q, -1, 1, 1)).reshape(b, q, -1)
                embs = e + masked_average(at_grid, x)
        return embs

    def image_embedding(self, x: Tensor) -> Tensor:
        return self.clip(x)
