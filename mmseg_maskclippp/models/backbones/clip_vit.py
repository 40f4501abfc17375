"""CLIP ViTs with mask tokens (Eq. 2), and open_clip's own VisionTransformer.

For a ViT that pools its CLS token, MaskCLIP++ adds one *mask token* per
mask from a chosen block on ("mask prior block", default the third-to-last).
Each mask token starts as a copy of its image's CLS token and goes through
the remaining blocks attending only to the patch tokens, with the Eq. 2 bias
alpha * M_soft inside its binarised mask and -100 outside. CLS and patch
tokens never attend to mask tokens, so the original stream runs the
unmodified blocks and its outputs equal plain CLIP's. Because of that, the
mask tokens are computed as a separate cross-attention (masks x patches)
instead of one long self-attention over [masks | CLS | patches]: the same
numbers, with Q*hw instead of (Q+1+hw)^2 attention scores.

A ViT that average-pools its patch tokens (open_clip ``pool_type='avg'``)
is pooled like a CNN, with Eq. 1.
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmseg_maskclippp.registry import MODELS
from ..necks.mask_attention_pooling import mask_query_attention, split_heads
from .base import OpenCLIPVisualBackbone, check_input, interpolate_pos_embed


class MaskTokenViT(OpenCLIPVisualBackbone):
    """Shared mask-token machinery of the ViT families.

    ``forward`` returns ``(patch_map, cls)``: the (B, C, h, w) patch tokens
    and the (B, C) CLS token entering the mask prior block (for an
    average-pooling ViT: leaving the last block).

    Args:
        mask_prior_block: index of the first block that carries mask tokens;
            negative values count from the end (default -3: the last three
            blocks, as in every paper config).
        **kwargs: see :class:`OpenCLIPVisualBackbone`.
    """

    default_finetune = 'attention'

    def __init__(self, *args, mask_prior_block: int = -3, **kwargs):
        super().__init__(*args, **kwargs)
        depth = len(self._blocks)
        first = mask_prior_block + depth if mask_prior_block < 0 \
            else mask_prior_block
        if self.pooling == 'average':
            first = depth  # no mask tokens: pool the final patch tokens
        elif not 0 <= first < depth:
            raise ValueError(
                f'mask_prior_block {mask_prior_block} is outside the '
                f'{depth} blocks of {self.model_name!r}')
        #: 0-based index of the first block with mask tokens
        self.mask_prior_block = first

    # ---- family hooks ------------------------------------------------
    @property
    def _blocks(self) -> nn.ModuleList:
        raise NotImplementedError

    @property
    def num_heads(self) -> int:
        raise NotImplementedError

    def _embed(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """Normalised images -> (B, 1 + h*w, C) tokens entering block 0."""
        raise NotImplementedError

    def _block_context(self, grid: Tuple[int, int]):
        """Per-forward extras every block needs (RoPE for EVA)."""
        return None

    def _run_block(self, block: nn.Module, x: Tensor, ctx) -> Tensor:
        raise NotImplementedError

    def _mask_token_step(self, block: nn.Module, masks: Tensor,
                         patches: Tensor, bias: Tensor, ctx) -> Tensor:
        """Update (B, Q, C) mask tokens through ``block``: attention over the
        (B, h*w, C) patch tokens entering the block, then the MLP."""
        raise NotImplementedError

    def _head(self, tokens: Tensor) -> Tensor:
        """Final norm + projection of pooled (..., C) tokens -> (..., D)."""
        raise NotImplementedError

    # ---- shared ------------------------------------------------------
    @property
    def mask_attention_layout(self) -> Tuple[int, int]:
        """(layers, heads) of the Eq. 2 bias: one alpha per neck block and
        head."""
        return len(self._blocks) - self.mask_prior_block, self.num_heads

    def feature_grid(self, feats: Tuple[Tensor, Tensor]) -> Tuple[int, int]:
        return tuple(feats[0].shape[-2:])

    def _run_blocks(self, x: Tensor, blocks, ctx) -> Tensor:
        for block in blocks:
            x = self._run_block(block, x, ctx)
        return x

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        check_input(x, self.stride, type(self).__name__)
        tokens, grid = self._embed(x)
        ctx = self._block_context(grid)
        tokens = self._run_blocks(
            tokens, self._blocks[:self.mask_prior_block], ctx)
        return self._to_map(tokens, grid)

    @staticmethod
    def _to_map(tokens: Tensor, grid) -> Tuple[Tensor, Tensor]:
        cls, patches = tokens[:, 0], tokens[:, 1:]
        patch_map = patches.transpose(1, 2).reshape(
            tokens.shape[0], tokens.shape[-1], *grid)
        return patch_map, cls

    @staticmethod
    def _to_tokens(feats: Tuple[Tensor, Tensor]) -> Tensor:
        patch_map, cls = feats
        return torch.cat([cls[:, None], patch_map.flatten(2).transpose(1, 2)],
                         dim=1)

    def attend_masks(self, feats: Tuple[Tensor, Tensor],
                     biases: Sequence[Tensor]) -> Tensor:
        """Mask embeddings (B, Q, D) by attention pooling with mask tokens.

        Args:
            feats: ``forward``'s output.
            biases: the Eq. 2 bias (B, heads, Q, h*w) of every block from
                the mask prior block on.
        """
        blocks = self._blocks[self.mask_prior_block:]
        if len(biases) != len(blocks):
            raise ValueError(f'{type(self).__name__} pools masks with '
                             f'{len(blocks)} blocks; got {len(biases)} '
                             'Eq. 2 biases')
        tokens = self._to_tokens(feats)
        grid = feats[0].shape[-2:]
        ctx = self._block_context(grid)
        num_masks = biases[0].shape[2]
        masks = tokens[:, :1].expand(-1, num_masks, -1)
        for block, bias in zip(blocks, biases):
            if num_masks:
                masks = self._mask_token_step(block, masks, tokens[:, 1:],
                                              bias, ctx)
            tokens = self._run_block(block, tokens, ctx)
        return self._head(masks)

    def final_tokens(self, feats: Tuple[Tensor, Tensor]) -> Tensor:
        """(B, 1 + h*w, C) tokens after the last block."""
        grid = feats[0].shape[-2:]
        return self._run_blocks(self._to_tokens(feats),
                                self._blocks[self.mask_prior_block:],
                                self._block_context(grid))

    def image_embedding(self, x: Tensor) -> Tensor:
        feats = self.forward(x)
        if self.pooling == 'average':
            fmap = self.dense_map(feats)
            return self.project(fmap.flatten(2).mean(-1))
        return self._head(self.final_tokens(feats)[:, 0])


@MODELS.register_module()
class CLIPViT(MaskTokenViT):
    """CLIP-V of open_clip's ``VisionTransformer`` (OpenAI ViT-B/16,
    ViT-L/14, ViT-L/14-336, LAION ViTs, ...).

    CLS-pooling models use mask tokens (Eq. 2); ``pool_type='avg'`` models
    (such as the embedded demo's tiny CLIP) use mask-average pooling of the
    final patch tokens (Eq. 1). Fine-tuning scope ``'attention'``: the
    position embedding and every block's attention input projection
    (``attn.in_proj_weight`` / ``in_proj_bias``).
    """

    def _check_family(self) -> None:
        from open_clip.transformer import (ResidualAttentionBlock,
                                           VisionTransformer)
        if not isinstance(self.clip, VisionTransformer):
            raise TypeError(
                f'{self.model_name!r} is not an open_clip VisionTransformer; '
                "use CLIPEVAViT, CLIPConvNeXt or CLIPResNet (or "
                "type='OpenCLIPVisual' to pick automatically)")
        if self.clip.attn_pool is not None:
            raise TypeError(f'{self.model_name!r} uses an attentional '
                            'pooler, which MaskCLIP++ does not support')
        if not all(isinstance(b, ResidualAttentionBlock)
                   for b in self.clip.transformer.resblocks):
            raise TypeError(f'{self.model_name!r} uses custom attention '
                            'blocks, which MaskCLIP++ does not support')
        if not isinstance(self.clip.patch_dropout, nn.Identity):
            raise TypeError(f'{self.model_name!r} drops patches, which '
                            'mask pooling does not support')
        pool = self.clip.pool_type
        if pool not in ('tok', 'avg'):
            raise TypeError(f'{self.model_name!r} pools with {pool!r}; '
                            "only 'tok' and 'avg' are supported")
        self.pooling = 'attention' if pool == 'tok' else 'average'

    def _is_finetuned_in_attention_scope(self, name: str) -> bool:
        return name == 'positional_embedding' or '.attn.in_proj_' in name

    @property
    def stride(self) -> int:
        return self.clip.patch_size[0]

    @property
    def _blocks(self) -> nn.ModuleList:
        return self.clip.transformer.resblocks

    @property
    def num_heads(self) -> int:
        return self._blocks[0].attn.num_heads

    def _embed(self, x: Tensor):
        v = self.clip
        x = v.conv1(x)
        grid = tuple(x.shape[-2:])
        x = x.flatten(2).transpose(1, 2)
        cls = v.class_embedding.to(x.dtype).view(1, 1, -1)
        x = torch.cat([cls.expand(x.shape[0], -1, -1), x], dim=1)
        pos = interpolate_pos_embed(v.positional_embedding, 1,
                                    v.grid_size, grid)
        x = x + pos.to(x.dtype)
        return v.ln_pre(v.patch_dropout(x)), grid

    def _run_block(self, block, x, ctx):
        return block(x)

    def _mask_token_step(self, block, masks, patches, bias, ctx):
        attn = block.attn
        w_q, w_k, w_v = attn.in_proj_weight.chunk(3)
        b_q, b_k, b_v = (attn.in_proj_bias.chunk(3)
                         if attn.in_proj_bias is not None else (None, ) * 3)
        kv = block.ln_1(patches)
        heads = attn.num_heads
        q = split_heads(F.linear(block.ln_1(masks), w_q, b_q), heads)
        k = split_heads(F.linear(kv, w_k, b_k), heads)
        v = split_heads(F.linear(kv, w_v, b_v), heads)
        out = attn.out_proj(mask_query_attention(q, k, v, bias))
        masks = masks + block.ls_1(out)
        return masks + block.ls_2(block.mlp(block.ln_2(masks)))

    def _head(self, tokens: Tensor) -> Tensor:
        return self.clip.ln_post(tokens) @ self.clip.proj

    # ---- average-pooling ViTs (Eq. 1) ------------------------------------
    def dense_map(self, feats: Tuple[Tensor, Tensor]) -> Tensor:
        """(B, C, h, w) map that an average-pooling ViT averages: the final
        patch tokens, after ``ln_post`` unless the model norms after the
        pool."""
        patch_map = feats[0]
        if self.clip.final_ln_after_pool:
            return patch_map
        return self.clip.ln_post(patch_map.permute(0, 2, 3, 1)).permute(
            0, 3, 1, 2)

    def project(self, pooled: Tensor) -> Tensor:
        if self.clip.final_ln_after_pool:
            pooled = self.clip.ln_post(pooled)
        return pooled @ self.clip.proj
