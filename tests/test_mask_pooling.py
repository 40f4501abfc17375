"""Mask embeddings of every CLIP family (paper Eq. 1 and Eq. 2)."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmseg_maskclippp.models.backbones import build_open_clip_visual
from mmseg_maskclippp.models.necks import MaskPoolingNeck
from mmseg_maskclippp.models.necks.mask_attention_pooling import (
    OUTSIDE_MASK_BIAS, binarize_masks, mask_attention_bias)
from mmseg_maskclippp.models.necks.mask_average_pooling import \
    mask_average_weights
from mmseg_maskclippp.models.necks.mask_pooling import downsample_masks

ATTENTION_FAMILIES = ('test-vit', 'test-eva', 'test-eva01', 'test-resnet')


def build(name, **kwargs):
    torch.manual_seed(0)
    clip = build_open_clip_visual(name, **kwargs).eval()
    neck = MaskPoolingNeck(clip.pooling,
                           getattr(clip, 'mask_attention_layout', None))
    return clip, neck


def embed(clip, neck, images, masks):
    return neck(clip(images), masks, clip)


def random_masks(q, h, w, generator=None):
    return torch.rand(q, h, w, generator=generator) > 0.5


# ---------------------------------------------------------------------------
# the weighting function phi
def test_downsample_is_bilinear_and_small_masks_vanish():
    mask = torch.zeros(1, 64, 64)
    mask[0, 15:17, 15:17] = 1  # the 2x2 pixels bilinear reads for cell 0
    mask[0, 40, 40] = 1  # one pixel that no output cell samples
    soft, valid = downsample_masks([mask], (64, 64), (2, 2))
    expected = F.interpolate(mask[None], size=(2, 2), mode='bilinear',
                             align_corners=False)[0]
    assert torch.equal(soft[0], expected)
    assert soft[0, 0, 0, 0] == 1 and soft[0, 0].sum() == 1  # pixel vanished
    assert valid.tolist() == [[True]]


def test_downsample_pads_like_the_image_and_marks_padding_masks():
    masks = [torch.ones(2, 32, 64), torch.ones(1, 64, 64)]
    soft, valid = downsample_masks(masks, (64, 64), (2, 2))
    assert soft.shape == (2, 2, 2, 2)
    assert valid.tolist() == [[True, True], [True, False]]
    # image 0 covers the top half of the padded batch
    assert soft[0, 0].tolist() == [[1, 1], [0, 0]]
    assert soft[1, 1].abs().sum() == 0


def test_average_weights_are_l1_normalised_and_zero_for_empty():
    soft = torch.tensor([[[[1., 3.], [0., 0.]], [[0., 0.], [0., 0.]]]])
    w = mask_average_weights(soft, eps=1e-6)
    assert torch.allclose(w[0, 0], torch.tensor([.25, .75, 0, 0]), atol=1e-6)
    assert torch.equal(w[0, 1], torch.zeros(4))


def test_attention_bias_by_hand():
    soft = torch.tensor([[[0.9, 0.5, 0.4, 0.0]], [[0.0, 0.0, 0.0, 0.0]]])
    inside = binarize_masks(soft.view(2, 1, 2, 2))
    # strictly above max/2 = 0.45: 0.9 and 0.5 are in, 0.4 is out
    assert inside.tolist() == [[[True, True, False, False]],
                               [[False, False, False, False]]]
    log_alpha = torch.tensor([math.log(2.0), math.log(4.0)])
    bias = mask_attention_bias(soft, inside, log_alpha)
    assert bias.shape == (2, 2, 1, 4)  # (B, heads, Q, h*w)
    out = OUTSIDE_MASK_BIAS
    assert torch.allclose(bias[0, 0, 0], torch.tensor([1.8, 1.0, out, out]))
    assert torch.allclose(bias[0, 1, 0], torch.tensor([3.6, 2.0, out, out]))
    # an empty mask attends uniformly: the same finite bias everywhere
    assert torch.equal(bias[1], torch.full((2, 1, 4), out))


# ---------------------------------------------------------------------------
# average-pooling families (Eq. 1)
def test_convnext_full_mask_gives_the_clip_image_embedding():
    clip, neck = build('test-convnext')
    x = torch.randn(2, 3, 64, 96)
    full = [torch.ones(1, 64, 96), torch.ones(1, 64, 96)]
    out = embed(clip, neck, x, full)
    assert torch.allclose(out.embeds, clip.clip(x), atol=1e-5)


@pytest.mark.parametrize('name', ['test-convnext', 'test-vit-avg'])
def test_split_masks_average_back_to_the_global_pool(name, monkeypatch):
    clip, neck = build(name)
    x = torch.randn(1, 3, 64, 64)
    # projection off: compare the pooled features themselves
    monkeypatch.setattr(clip, 'project', lambda pooled: pooled)
    left = torch.zeros(1, 64, 64)
    left[:, :, :32] = 1  # aligned with the stride-32 (and 8) grid
    masks = [torch.cat([left, 1 - left])]
    out = embed(clip, neck, x, masks)
    fmap = clip.dense_map(clip(x))
    weights = out.areas / out.areas.sum()
    assert torch.allclose((weights[:, None] * out.embeds).sum(0),
                          fmap.flatten(2).mean(-1)[0], atol=1e-5)


def test_convnext_earlier_mask_prior_runs_and_depends_on_masks():
    clip, neck = build('test-convnext', mask_prior_stage=3)
    x = torch.randn(1, 3, 64, 64)
    masks = torch.zeros(2, 64, 64)
    masks[0, :32], masks[1, 32:] = 1, 1
    out = embed(clip, neck, x, [masks])
    assert out.embeds.shape == (2, 24) and torch.isfinite(out.embeds).all()
    assert not torch.allclose(out.embeds[0], out.embeds[1])
    with pytest.raises(ValueError, match='mask_prior_stage'):
        build('test-convnext', mask_prior_stage=1)


# ---------------------------------------------------------------------------
# attention-pooling families (Eq. 2)
@pytest.mark.parametrize('name', ATTENTION_FAMILIES)
def test_mask_token_depends_on_its_own_mask_only(name):
    clip, neck = build(name)
    neck.log_alpha.data.fill_(0.5)  # a visible bias
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 64, 64, generator=g)
    masks = random_masks(3, 64, 64, g).float()
    base = embed(clip, neck, x, [masks]).embeds
    changed = masks.clone()
    changed[1] = 1 - changed[1]
    out = embed(clip, neck, x, [changed]).embeds
    assert torch.equal(out[0], base[0]) and torch.equal(out[2], base[2])
    assert not torch.allclose(out[1], base[1])


def _extended_sequence_reference(clip, neck, x, masks):
    """The official formulation: one self-attention over
    [mask tokens | CLS | patches] with -inf where original tokens would see
    mask tokens or mask tokens would see masks/CLS, and the Eq. 2 bias on
    mask->patch. Returns the mask embeddings.
    """
    feats = clip(x)
    tokens = clip._to_tokens(feats)
    grid = feats[0].shape[-2:]
    ctx = clip._block_context(grid)
    q, n = masks.shape[0], tokens.shape[1]
    soft, _ = downsample_masks([masks], tuple(x.shape[-2:]), tuple(grid))
    inside = binarize_masks(soft)
    seq = torch.cat([tokens[:, :1].expand(-1, q, -1), tokens], dim=1)
    blocks = clip._blocks[clip.mask_prior_block:]
    for layer, block in enumerate(blocks):
        heads = clip.num_heads
        full = torch.zeros(heads, q + n, q + n)
        full[:, q:, :q] = float('-inf')  # originals never see mask tokens
        full[:, :q, :q + 1] = float('-inf')  # masks see patches only
        full[:, :q, q + 1:] = mask_attention_bias(
            soft.flatten(2), inside, neck.log_alpha[layer])[0]
        if hasattr(block, 'ln_1'):  # open_clip block: (B*heads, L, L) mask
            seq = block(seq, attn_mask=full)
        else:  # EVA block: RoPE skips the first q + 1 prefix tokens
            block.attn.num_prefix_tokens = q + 1
            seq = block(seq, rope=ctx, attn_mask=full[None])
            block.attn.num_prefix_tokens = 1
    return clip._head(seq[:, :q])[0]


def sharpen_attention(clip, factor=20.0):
    """Scale the query/key projections so that token content, not only
    the bias, decides the attention (small random weights barely do)."""
    with torch.no_grad():
        for name, param in clip.named_parameters():
            if 'in_proj_weight' in name or '.q_proj.' in name or \
                    '.k_proj.' in name:
                param.mul_(factor)
            elif name.endswith('.attn.qkv.weight'):  # fused: q and k rows
                param[:2 * param.shape[1]].mul_(factor)


@pytest.mark.parametrize('name', ['test-vit', 'test-eva', 'test-eva01'])
def test_vit_mask_tokens_match_the_extended_sequence(name):
    clip, neck = build(name)
    sharpen_attention(clip)
    neck.log_alpha.data.normal_(0, 1)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 3, 48, 64, generator=g)
    masks = random_masks(4, 48, 64, g).float()
    masks[3] = 0  # an empty mask too
    ours = embed(clip, neck, x, [masks]).embeds
    reference = _extended_sequence_reference(clip, neck, x, masks)
    assert torch.allclose(ours, reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('name', ['test-vit', 'test-eva', 'test-eva01'])
def test_vit_original_tokens_are_bit_identical_to_plain_clip(name):
    clip, neck = build(name)
    size = clip.clip.image_size
    size = size[0] if isinstance(size, tuple) else size
    x = torch.randn(2, 3, size, size)
    outputs = []
    hook = clip._blocks[-1].register_forward_hook(
        lambda module, args, out: outputs.append(out))
    clip.clip(x)  # plain open_clip forward
    embed(clip, neck, x, [random_masks(5, size, size).float()] * 2)
    hook.remove()
    plain, with_masks = outputs
    assert torch.equal(plain, with_masks)


def test_resnet_mask_queries_match_a_per_mask_loop():
    clip, neck = build('test-resnet')
    sharpen_attention(clip)
    neck.log_alpha.data.normal_(0, 1)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 3, 96, 64, generator=g)
    masks = random_masks(3, 96, 64, g).float()
    ours = embed(clip, neck, x, [masks]).embeds
    pool = clip.clip.attnpool
    fmap = clip(x)[-1]
    query, keys = clip._pool_inputs(fmap)
    soft, _ = downsample_masks([masks], (96, 64), tuple(fmap.shape[-2:]))
    flat = soft.flatten(2)[0]
    heads, dim = pool.num_heads, keys.shape[-1] // pool.num_heads
    for m in range(3):
        inside = flat[m] > flat[m].max() / 2
        outs = []
        for h in range(heads):
            sl = slice(h * dim, (h + 1) * dim)
            qh = pool.q_proj(query)[0, sl]
            kh = pool.k_proj(keys)[0, :, sl]
            vh = pool.v_proj(keys)[0, :, sl]
            bias = torch.where(inside, neck.log_alpha[0, h].exp() * flat[m],
                               torch.tensor(OUTSIDE_MASK_BIAS))
            attn = (kh @ qh / math.sqrt(dim) + bias).softmax(0)
            outs.append(attn @ vh)
        expected = pool.c_proj(torch.cat(outs))
        assert torch.allclose(ours[m], expected, atol=1e-5)


@pytest.mark.parametrize('name', ATTENTION_FAMILIES)
def test_alpha_receives_gradient(name):
    clip, neck = build(name)
    x = torch.randn(1, 3, 64, 64)
    out = embed(clip, neck, x, [random_masks(2, 64, 64).float()])
    out.embeds.sum().backward()
    assert neck.log_alpha.grad is not None
    assert neck.log_alpha.grad.abs().sum() > 0


# ---------------------------------------------------------------------------
# every family
def test_batched_equals_one_image_at_a_time(family):
    clip, neck = build(family)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 64, 64, generator=g)
    masks = [random_masks(3, 64, 64, g), random_masks(1, 64, 64, g)]
    both = embed(clip, neck, x, masks)
    assert both.num_masks == [3, 1] and both.img_idx.tolist() == [0, 0, 0, 1]
    for i in range(2):
        alone = embed(clip, neck, x[i:i + 1], [masks[i]]).embeds
        assert torch.allclose(both.per_image()[i], alone, atol=1e-5)


def test_empty_inputs_are_fine(family):
    clip, neck = build(family)
    x = torch.randn(2, 3, 64, 64)
    vanishing = torch.zeros(1, 64, 64)
    vanishing[0, 40, 40] = 1  # sampled by no cell of any grid here
    out = embed(clip, neck, x, [torch.zeros(0, 64, 64), vanishing])
    assert out.embeds.shape == (1, 24)
    assert torch.isfinite(out.embeds).all()
    assert out.areas.tolist() == [0.0]
    none = embed(clip, neck, x, [torch.zeros(0, 64, 64)] * 2)
    assert none.embeds.shape == (0, 24)


def test_mask_size_must_match_the_image(family):
    clip, neck = build(family)
    with pytest.raises(ValueError, match=r'expected \(Q, 64, 64\)'):
        embed(clip, neck, torch.randn(1, 3, 64, 64), [torch.ones(1, 32, 32)])
    with pytest.raises(ValueError, match='divisible by its stride'):
        clip(torch.randn(1, 3, 60, 64))


def test_other_input_sizes_and_patch_embeddings(family):
    clip, neck = build(family)
    x = torch.randn(1, 3, 64, 128)
    feats = clip(x)
    grid = clip.feature_grid(feats)
    assert grid == (64 // clip.stride, 128 // clip.stride)
    patches = neck.patch_embeddings(feats, clip)
    assert patches.shape == (1, 24, *grid)
    assert torch.isfinite(patches).all()
    # native size: our image embedding is open_clip's own
    size = clip.clip.image_size
    size = size[0] if isinstance(size, tuple) else size
    x = torch.randn(2, 3, size, size)
    assert torch.allclose(clip.image_embedding(x), clip.clip(x), atol=1e-5)


TRAINABLE = {
    'test-convnext': lambda n: True,
    'test-resnet': lambda n: True,
    'test-vit': lambda n: n == 'positional_embedding' or '.attn.in_proj_' in n,
    'test-vit-avg':
    lambda n: n == 'positional_embedding' or '.attn.in_proj_' in n,
    'test-eva':
    lambda n: n == 'trunk.pos_embed' or any(
        f'.attn.{p}_proj.' in n for p in 'qkv'),
    'test-eva01':
    lambda n: n == 'trunk.pos_embed' or any(
        f'.attn.{p}' in n for p in ('qkv.', 'q_bias', 'v_bias')),
}


@pytest.mark.parametrize('family', TRAINABLE)
def test_only_the_intended_parameters_train(family):
    clip, neck = build(family)
    clip.train()
    x = torch.randn(2, 3, 64, 64)
    out = embed(clip, neck, x, [random_masks(2, 64, 64).float()] * 2)
    out.embeds.square().sum().backward()
    rule = TRAINABLE[family]
    for name, param in clip.clip.named_parameters():
        assert param.requires_grad == rule(name), name
        if not rule(name):
            assert param.grad is None, name
    trained = [
        n for n, p in clip.clip.named_parameters() if p.grad is not None
    ]
    assert trained and all(rule(n) for n in trained)
    if family == 'test-eva':  # k too: the official code leaves it frozen
        assert any('.k_proj.' in n for n in trained)


def test_frozen_backbone_stays_in_eval_mode():
    clip, _ = build('test-resnet', finetune='none')
    clip.train()
    assert not any(m.training for m in clip.clip.modules())
    assert not any(p.requires_grad for p in clip.parameters())


def test_neck_checks_its_backbone():
    clip, _ = build('test-vit')
    with pytest.raises(ValueError, match='layers, heads'):
        MaskPoolingNeck('attention', (1, 2))(
            clip(torch.randn(1, 3, 32, 32)), [torch.ones(1, 32, 32)], clip)
    with pytest.raises(ValueError, match='pools by'):
        MaskPoolingNeck('average')(
            clip(torch.randn(1, 3, 32, 32)), [torch.ones(1, 32, 32)], clip)


def test_vit_needs_one_bias_per_mask_token_block():
    clip, neck = build('test-vit')
    feats = clip(torch.randn(1, 3, 32, 32))
    bias = torch.zeros(1, clip.num_heads, 2, 16)
    layers = clip.mask_attention_layout[0]
    assert clip.attend_masks(feats, [bias] * layers).shape == (1, 2, 24)
    with pytest.raises(ValueError, match=f'{layers} blocks; got 1'):
        clip.attend_masks(feats, [bias])
