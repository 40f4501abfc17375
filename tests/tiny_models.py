"""Tiny random-weight CLIPs of every family, and a tiny Mask2Former, for
tests.

Registers small timm trunks (ConvNeXt, EVA02, EVA01) and open_clip model
configs named ``test-<family>`` with ``open_clip.add_model_config``; nothing
is downloaded. Call :func:`register_tiny_models` once (conftest does).
"""
import json
import os.path as osp
import tempfile

import open_clip
from timm.models import register_model
from timm.models.convnext import ConvNeXt
from timm.models.eva import Eva

TEXT_CFG = dict(context_length=24, vocab_size=49408, width=32, heads=2,
                layers=1)
EMBED_DIM = 24

CONFIGS = {
    'test-convnext': dict(
        embed_dim=EMBED_DIM,
        vision_cfg=dict(timm_model_name='maskclippp_test_convnext',
                        timm_model_pretrained=False, timm_pool='',
                        timm_proj='linear', timm_drop=0.0,
                        timm_drop_path=0.0, image_size=64),
        text_cfg=TEXT_CFG),
    'test-vit': dict(
        embed_dim=EMBED_DIM,
        vision_cfg=dict(image_size=32, layers=3, width=32, head_width=16,
                        patch_size=8),
        text_cfg=TEXT_CFG),
    'test-vit-avg': dict(
        embed_dim=EMBED_DIM,
        vision_cfg=dict(image_size=32, layers=2, width=32, head_width=16,
                        patch_size=8, pool_type='avg'),
        text_cfg=TEXT_CFG),
    'test-eva': dict(
        embed_dim=EMBED_DIM,
        vision_cfg=dict(timm_model_name='maskclippp_test_eva02',
                        timm_model_pretrained=False, timm_pool='token',
                        timm_proj=None, image_size=32),
        text_cfg=TEXT_CFG,
        custom_text=True),
    # EVA01-CLIP layout (EVA01-g-14-plus, paper Table 4); not in FAMILIES,
    # the EVA-specific tests use it
    'test-eva01': dict(
        embed_dim=EMBED_DIM,
        vision_cfg=dict(timm_model_name='maskclippp_test_eva01',
                        timm_model_pretrained=False, timm_pool='token',
                        timm_proj=None, image_size=32),
        text_cfg=TEXT_CFG,
        custom_text=True),
    # only its embedding size differs from test-vit
    'test-vit-wide': dict(
        embed_dim=2 * EMBED_DIM,
        vision_cfg=dict(image_size=32, layers=1, width=32, head_width=16,
                        patch_size=8),
        text_cfg=TEXT_CFG),
    'test-resnet': dict(
        embed_dim=EMBED_DIM,
        vision_cfg=dict(image_size=64, layers=[1, 1, 1, 1], width=8,
                        head_width=32, patch_size=None),
        text_cfg=TEXT_CFG),
}


def _model_kwargs(kwargs):
    """Drop the keys timm's factory adds for its own builders."""
    for key in ('pretrained_cfg', 'pretrained_cfg_overlay', 'cache_dir'):
        kwargs.pop(key, None)
    return kwargs


def _with_cfg(model):
    """The (empty) pretrained config timm's own builders attach."""
    model.pretrained_cfg = model.default_cfg = {}
    return model


@register_model
def maskclippp_test_convnext(pretrained=False, **kwargs):
    return _with_cfg(ConvNeXt(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32),
                              **_model_kwargs(kwargs)))


@register_model
def maskclippp_test_eva02(pretrained=False, **kwargs):
    # an EVA02-CLIP block layout (separate q/k/v, SwiGLU with norm, inner
    # attention norm, RoPE) at toy size
    return _with_cfg(
        Eva(img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=2,
            qkv_fused=False, mlp_ratio=4 * 2 / 3, swiglu_mlp=True,
            scale_mlp=True, scale_attn_inner=True, use_rot_pos_emb=True,
            ref_feat_shape=(4, 4), **_model_kwargs(kwargs)))


@register_model
def maskclippp_test_eva01(pretrained=False, **kwargs):
    # an EVA01-CLIP block layout (fused qkv with q and v biases, GELU MLP,
    # no RoPE; timm's eva_giant_patch14_224) at toy size
    return _with_cfg(
        Eva(img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=2,
            qkv_fused=True, **_model_kwargs(kwargs)))


_registered = False


def register_tiny_models():
    """Make the ``test-*`` models known to open_clip (idempotent)."""
    global _registered
    if _registered:
        return
    folder = tempfile.mkdtemp(prefix='maskclippp-test-configs-')
    for name, cfg in CONFIGS.items():
        with open(osp.join(folder, name + '.json'), 'w') as f:
            json.dump(cfg, f)
    open_clip.add_model_config(folder)
    _registered = True


FAMILIES = ('test-convnext', 'test-vit', 'test-vit-avg', 'test-eva',
            'test-resnet')


SWIN_T_PANOPTIC = ('mmdet::mask2former/mask2former_swin-t-p4-w7-224_8xb2-'
                   'lsj-50e_coco-panoptic.py')
_M2F_WIDTH = 32
_M2F_ATTN = dict(embed_dims=_M2F_WIDTH, num_heads=4)
_M2F_FFN = dict(embed_dims=_M2F_WIDTH, feedforward_channels=64)
#: a Mask2Former small enough for CPU tests: ResNet-18 layout at a quarter
#: of the width, 10 queries, one encoder and three decoder layers
TINY_M2F = dict(
    model=dict(
        backbone=dict(
            _delete_=True,
            type='ResNet',
            depth=18,
            stem_channels=16,
            base_channels=16,
            out_indices=(0, 1, 2, 3),
            norm_cfg=dict(type='BN', requires_grad=False),
            norm_eval=True,
            init_cfg=None),
        panoptic_head=dict(
            in_channels=[16, 32, 64, 128],
            feat_channels=_M2F_WIDTH,
            out_channels=_M2F_WIDTH,
            num_queries=10,
            pixel_decoder=dict(
                norm_cfg=dict(num_groups=8),
                encoder=dict(
                    num_layers=1,
                    layer_cfg=dict(self_attn_cfg=_M2F_ATTN, ffn_cfg=_M2F_FFN)),
                positional_encoding=dict(num_feats=_M2F_WIDTH // 2)),
            positional_encoding=dict(num_feats=_M2F_WIDTH // 2),
            transformer_decoder=dict(
                num_layers=3,
                layer_cfg=dict(
                    self_attn_cfg=_M2F_ATTN,
                    cross_attn_cfg=_M2F_ATTN,
                    ffn_cfg=_M2F_FFN)))))


def tiny_m2f(checkpoint=None, **kwargs):
    """The Mask2Former mask generator with :data:`TINY_M2F`, random weights
    unless ``checkpoint``."""
    from mmseg_maskclippp.models.mask_generators import Mask2FormerGenerator
    return Mask2FormerGenerator(
        config=SWIN_T_PANOPTIC,
        checkpoint=checkpoint,
        cfg_options=TINY_M2F,
        short_side=64,
        **kwargs)
