"""OpenAI CLIP ResNets (open_clip ``ModifiedResNet``, e.g. RN50x16).

CLIP pools the last map with one attention layer whose query is the mean
token. MaskCLIP++ asks that layer one question per mask: every mask query is
the mean token (plus its position embedding), keys and values are the
spatial tokens only, and the Eq. 2 bias restricts each query to its mask.
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg_maskclippp.registry import MODELS
from ..necks.mask_attention_pooling import mask_query_attention, split_heads
from .base import OpenCLIPVisualBackbone, check_input, interpolate_pos_embed


@MODELS.register_module()
class CLIPResNet(OpenCLIPVisualBackbone):
    """CLIP-V of open_clip's ``ModifiedResNet`` models.

    ``forward`` returns the four stage maps (strides 4, 8, 16, 32); the
    attention pool reads the last one. Batch norms train with batch
    statistics when fine-tuned (``finetune='all'``, the paper's choice); set
    ``sync_bn='torch'`` in the config for multi-GPU runs.
    """

    pooling = 'attention'
    default_finetune = 'all'

    def _check_family(self) -> None:
        from open_clip.modified_resnet import ModifiedResNet
        if not isinstance(self.clip, ModifiedResNet):
            raise TypeError(
                f'{self.model_name!r} is not an open_clip ModifiedResNet; use '
                "CLIPConvNeXt, CLIPViT or CLIPEVAViT (or "
                "type='OpenCLIPVisual' to pick automatically)")

    def _is_finetuned_in_attention_scope(self, name: str) -> bool:
        raise ValueError("finetune='attention' is for ViTs; CLIP ResNets "
                         "fine-tune 'all' (paper) or 'none'")

    @property
    def stride(self) -> int:
        return 32

    @property
    def num_heads(self) -> int:
        return self.clip.attnpool.num_heads

    @property
    def mask_attention_layout(self) -> Tuple[int, int]:
        """(layers, heads) of the Eq. 2 bias: the single attention pool."""
        return 1, self.num_heads

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        check_input(x, self.stride, type(self).__name__)
        x = self.clip.stem(x)
        outs = []
        for layer in (self.clip.layer1, self.clip.layer2, self.clip.layer3,
                      self.clip.layer4):
            x = layer(x)
            outs.append(x)
        return tuple(outs)

    def _pool_inputs(self, fmap: Tensor) -> Tuple[Tensor, Tensor]:
        """The attention pool's mean query (B, C) and spatial keys
        (B, h*w, C), position embeddings added."""
        pool = self.clip.attnpool
        side = self.clip.image_size // 32
        pos = interpolate_pos_embed(pool.positional_embedding, 1,
                                    (side, side), tuple(fmap.shape[-2:]))
        tokens = fmap.flatten(2).transpose(1, 2)
        pos = pos.to(tokens.dtype)
        return tokens.mean(1) + pos[0], tokens + pos[1:]

    def attend_masks(self, feats: Tuple[Tensor, ...],
                     biases: Sequence[Tensor]) -> Tensor:
        """Mask embeddings (B, Q, D) from the attention pool (Eq. 2);
        ``biases`` holds the one layer's bias (B, heads, Q, h*w)."""
        (bias, ) = biases
        num_masks = bias.shape[2]
        pool = self.clip.attnpool
        query, keys = self._pool_inputs(feats[-1])
        heads = pool.num_heads
        q = pool.q_proj(query)[:, None].expand(-1, num_masks, -1)
        k = split_heads(pool.k_proj(keys), heads)
        v = split_heads(pool.v_proj(keys), heads)
        out = mask_query_attention(split_heads(q, heads), k, v, bias)
        return pool.c_proj(out)

    def image_embedding(self, x: Tensor) -> Tensor:
        """Vanilla attention pool (the mean token is also a key)."""
        pool = self.clip.attnpool
        query, keys = self._pool_inputs(self.forward(x)[-1])
        tokens = torch.cat([query[:, None], keys], dim=1)
        heads = pool.num_heads
        q = split_heads(pool.q_proj(query[:, None]), heads)
        k = split_heads(pool.k_proj(tokens), heads)
        v = split_heads(pool.v_proj(tokens), heads)
        out = F.scaled_dot_product_attention(q, k, v)
        return pool.c_proj(out.transpose(1, 2).flatten(2))[:, 0]
