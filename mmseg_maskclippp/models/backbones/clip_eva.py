"""EVA-CLIP ViTs (open_clip ``TimmModel`` around a timm ``Eva`` trunk).

EVA02 blocks differ from open_clip's: separate q/k/v projections, rotary
position embeddings on the patch tokens, an inner LayerNorm before the
output projection and a SwiGLU MLP. The mask tokens are prefix tokens like
CLS, so they get no rotary phase; the patch keys do.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmseg_maskclippp.registry import MODELS
from ..necks.mask_attention_pooling import mask_query_attention, split_heads
from .base import interpolate_pos_embed
from .clip_vit import MaskTokenViT


@MODELS.register_module()
class CLIPEVAViT(MaskTokenViT):
    """CLIP-V of open_clip's EVA models (``EVA02-B-16``, ``EVA02-L-14-336``,
    ``EVA01-g-14-plus``, ...), with mask tokens (Eq. 2).

    Fine-tuning scope ``'attention'``: ``pos_embed`` and every block's
    attention input projections, q, k and v with their biases. (The
    official code trains q and v but not k, and no bias, because it
    selects parameters by name; the paper says "input projections", so all
    three are trained here.)
    """

    pooling = 'attention'

    def _check_family(self) -> None:
        from timm.models.eva import Eva, EvaBlock
        trunk = getattr(self.clip, 'trunk', None)
        if not isinstance(trunk, Eva):
            raise TypeError(
                f'{self.model_name!r} is not an open_clip EVA model; use '
                "CLIPViT, CLIPConvNeXt or CLIPResNet (or "
                "type='OpenCLIPVisual' to pick automatically)")
        if trunk.global_pool != 'token' or trunk.reg_token is not None \
                or trunk.num_prefix_tokens != 1:
            raise TypeError(f'{self.model_name!r}: MaskCLIP++ needs an EVA '
                            'trunk that pools a single CLS token')
        for block in trunk.blocks:
            if not isinstance(block, EvaBlock) or block.attn.gate is not None:
                raise TypeError(f'{self.model_name!r} uses EVA blocks that '
                                'MaskCLIP++ does not support')
        if getattr(trunk, 'rope_mixed', False):
            raise TypeError(f'{self.model_name!r} uses mixed RoPE, which '
                            'MaskCLIP++ does not support')
        if trunk.patch_drop is not None:
            raise TypeError(f'{self.model_name!r} drops patches, which mask '
                            'pooling does not support')

    def _is_finetuned_in_attention_scope(self, name: str) -> bool:
        if name == 'trunk.pos_embed':
            return True
        return '.attn.' in name and any(
            key in name for key in ('.q_proj.', '.k_proj.', '.v_proj.',
                                    '.qkv.', '.q_bias', '.v_bias'))

    @property
    def stride(self) -> int:
        return self.clip.trunk.patch_embed.patch_size[0]

    @property
    def _blocks(self) -> nn.ModuleList:
        return self.clip.trunk.blocks

    @property
    def num_heads(self) -> int:
        return self._blocks[0].attn.num_heads

    def _embed(self, x: Tensor):
        trunk = self.clip.trunk
        x = trunk.patch_embed.proj(x)
        grid = tuple(x.shape[-2:])
        x = trunk.patch_embed.norm(x.flatten(2).transpose(1, 2))
        if trunk.pos_embed is not None and trunk.no_embed_class:
            x = x + interpolate_pos_embed(trunk.pos_embed[0], 0,
                                          trunk.patch_embed.grid_size,
                                          grid).to(x.dtype)
        cls = trunk.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls.to(x.dtype), x], dim=1)
        if trunk.pos_embed is not None and not trunk.no_embed_class:
            x = x + interpolate_pos_embed(trunk.pos_embed[0], 1,
                                          trunk.patch_embed.grid_size,
                                          grid).to(x.dtype)
        return trunk.norm_pre(trunk.pos_drop(x)), grid

    def _block_context(self, grid: Tuple[int, int]):
        """Rotary embedding (h*w, 2*dim) of the patch grid, or None."""
        rope = self.clip.trunk.rope
        if rope is None:
            return None
        if list(grid) == list(rope.feat_shape or []):
            return rope.get_embed()
        # timm caches the embedding of the pretrained grid only; build the
        # one of this grid from the same frequency bands
        return rope._build_embed_cat(list(grid), rope.bands)

    def _run_block(self, block, x, ctx):
        return block(x, rope=ctx)

    def _mask_token_step(self, block, masks, patches, bias, ctx):
        from timm.layers import apply_rot_embed_cat
        attn = block.attn
        heads = attn.num_heads
        q_in, kv_in = block.norm1(masks), block.norm1(patches)
        if attn.qkv is not None:
            w_q, w_k, w_v = attn.qkv.weight.chunk(3)
            b_q, b_k, b_v = ((attn.q_bias, attn.k_bias, attn.v_bias)
                             if attn.q_bias is not None else (None, ) * 3)
            q = F.linear(q_in, w_q, b_q)
            k, v = F.linear(kv_in, w_k, b_k), F.linear(kv_in, w_v, b_v)
        else:
            q = attn.q_proj(q_in)
            k, v = attn.k_proj(kv_in), attn.v_proj(kv_in)
        q = attn.q_norm(split_heads(q, heads))
        k = attn.k_norm(split_heads(k, heads))
        v = split_heads(v, heads)
        if ctx is not None:
            k = apply_rot_embed_cat(k, ctx, half=attn.rotate_half).type_as(v)
        out = attn.proj(attn.norm(mask_query_attention(q, k, v, bias)))
        if block.gamma_1 is not None:
            out = block.gamma_1 * out
        masks = masks + block.drop_path1(out)
        out = block.mlp(block.norm2(masks))
        if block.gamma_2 is not None:
            out = block.gamma_2 * out
        return masks + block.drop_path2(out)

    def _head(self, tokens: Tensor) -> Tensor:
        trunk = self.clip.trunk
        x = trunk.head(trunk.head_drop(trunk.fc_norm(trunk.norm(tokens))))
        return self.clip.head(x)
