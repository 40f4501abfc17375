"""Official (detectron2) checkpoints converted onto our model.

The official layouts are written here by hand from the fact sheet (§0) and
the official module names: the visual tower under
``visual_encoder.proxy.``, ``visual_encoder.mask_logit_scale`` with row 0 =
the last block, the PSM under its own parameter names, the tuned text tower
under ``text_encoder.`` (EVA: ``text_encoder.proxy.`` and
``text_encoder.logit_scale``). Every tensor is random and distinct, so
finding it in the right place after loading checks the renaming.
"""
import os.path as osp
import sys

import open_clip
import pytest
import torch

from conftest import make_segmentor
from crafted_checkpoint import write_crafted
from mmseg_maskclippp.models.utils.official_checkpoint import (
    convert_official_state_dict, load_official_checkpoint)
from mmseg_maskclippp.utils import UnsafeCheckpointError, checkpoint_loading

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))

import convert_official_checkpoint as convert_tool  # noqa: E402

LINEAR_PSM = {'corr_proj_in.0.weight': 'expand.weight',
              'corr_proj_in.0.bias': 'expand.bias',
              'corr_proj_out.0.weight': 'reduce.weight',
              'corr_proj_out.0.bias': 'reduce.bias'}
PSEUDO_TEXT_PSM = {'img_proj.weight': 'patch_proj.weight',
                   'img2text.in_proj_weight': 'attention.in_proj_weight',
                   'img2text.in_proj_bias': 'attention.in_proj_bias',
                   'img2text.out_proj.weight': 'attention.out_proj.weight',
                   'img2text.out_proj.bias': 'attention.out_proj.bias',
                   'ln_1.weight': 'norm.weight', 'ln_1.bias': 'norm.bias'}
# EVA-CLIP's names for what timm's Eva calls otherwise
EVA_CLIP_NAMES = [('.attn.q_proj.bias', '.attn.q_bias'),
                  ('.attn.v_proj.bias', '.attn.v_bias'),
                  ('.attn.norm.', '.attn.inner_attn_ln.'),
                  ('.mlp.norm.', '.mlp.ffn_ln.'),
                  ('.mlp.fc1_g.', '.mlp.w1.'), ('.mlp.fc1_x.', '.mlp.w2.'),
                  ('.mlp.fc2.', '.mlp.w3.')]


def _random_like(state, generator):
    return {k: torch.randn(v.shape, generator=generator, dtype=torch.float32)
            for k, v in state.items() if v.is_floating_point()}


def official_layout(model, model_name, psm_names, with_text):
    """An official checkpoint for ``model`` (built on ``model_name``, PSM
    parameters ``psm_names``: official -> ours) and a map from every
    official key to where its tensor must land (row flips aside)."""
    own = model.state_dict()
    neck = getattr(model.neck, 'log_alpha', None)
    g = torch.Generator().manual_seed(7)
    clip = open_clip.create_model(model_name)
    official, where = {}, {}
    for key, value in _random_like(clip.visual.state_dict(), g).items():
        old = key
        if model_name == 'test-eva':
            old = old[len('trunk.'):]
            for timm_name, eva_name in EVA_CLIP_NAMES:
                old = old.replace(timm_name, eva_name)
        official[f'visual_encoder.proxy.{old}'] = value
        where[f'visual_encoder.proxy.{old}'] = f'backbone.clip.{key}'
    for old, new in psm_names.items():
        official[f'psm.{old}'] = torch.randn(own[f'decode_head.{new}'].shape,
                                             generator=g)
        where[f'psm.{old}'] = f'decode_head.{new}'
    if neck is not None:
        # a ResNet's single attention pool: (heads,), no layer axis
        shape = neck.shape[1:] if model_name == 'test-resnet' else neck.shape
        official['visual_encoder.mask_logit_scale'] = torch.randn(
            shape, generator=g)
    if with_text:
        # the official open_clip text encoder holds the tower's modules and
        # the logit scale side by side; the EVA one keeps the tower (EVA-CLIP
        # names = open_clip's) under ``proxy``
        text = {k: v for k, v in clip.state_dict().items()
                if not k.startswith('visual.')}
        for key, value in _random_like(text, g).items():
            name = key[len('text.'):] if key.startswith('text.') else key
            if model_name == 'test-eva' and key.startswith('text.'):
                name = 'proxy.' + name
            official[f'text_encoder.{name}'] = value
            where[f'text_encoder.{name}'] = f'text_encoder.clip.{key}'
    return {'model': official, 'iteration': 20000}, where


CASES = [
    ('test-convnext', dict(type='PseudoTextPSM', num_heads=2),
     PSEUDO_TEXT_PSM),
    ('test-vit', dict(type='LinearPSM', width=16), LINEAR_PSM),
    ('test-resnet', dict(type='LinearPSM', width=16), LINEAR_PSM),
    ('test-eva', dict(type='LinearPSM', width=16), LINEAR_PSM),
]


@pytest.mark.parametrize('model_name,head,psm_names', CASES)
@pytest.mark.parametrize('with_text', [False, True])
def test_every_tensor_lands_in_place(model_name, head, psm_names, with_text):
    model = make_segmentor(model_name, decode_head=head)
    own = model.state_dict()
    neck = getattr(model.neck, 'log_alpha', None)
    ckpt, where = official_layout(model, model_name, psm_names, with_text)
    before = {k: v.clone() for k, v in own.items()}
    _, result = load_official_checkpoint(model, ckpt)
    after = model.state_dict()
    official = ckpt['model']
    for key, target in where.items():
        assert torch.equal(after[target], official[key]), (key, target)
    if neck is not None:
        scale = official['visual_encoder.mask_logit_scale']
        if model_name == 'test-resnet':
            assert torch.equal(after['neck.log_alpha'][0], scale)
        else:  # official row 0 is the last block, ours the first neck block
            layers = scale.shape[0]
            for row in range(layers):
                assert torch.equal(after['neck.log_alpha'][row],
                                   scale[layers - 1 - row])
    assert result.unused == []
    # what the checkpoint lacks keeps its value, and is reported
    provided = set(where.values()) | ({'neck.log_alpha'} if neck is not None
                                      else set())
    assert set(result.kept) == set(own) - provided
    for key in result.kept:
        assert torch.equal(after[key], before[key]), key
    assert any(k.startswith('text_encoder.') for k in result.kept) \
        != with_text


def test_text_weights_reach_the_embeddings():
    model = make_segmentor('test-vit')
    before = model.text_encoder.embed(model.test_vocabulary).clone()
    ckpt, _ = official_layout(model, 'test-vit', LINEAR_PSM, True)
    load_official_checkpoint(model, ckpt)
    after = model.text_encoder.embed(model.test_vocabulary)
    assert not torch.allclose(before, after)


def test_unused_keys_are_named_and_refused():
    model = make_segmentor('test-vit')
    ckpt, _ = official_layout(model, 'test-vit', LINEAR_PSM, False)
    ckpt['model']['psm.corrs_in.weight'] = torch.zeros(3)
    ckpt['model']['visual_encoder.proxy.extra'] = torch.zeros(3)
    ckpt['model']['criterion.empty_weight'] = torch.zeros(3)
    with pytest.raises(KeyError, match='psm.corrs_in.weight'):
        load_official_checkpoint(model, ckpt)
    _, result = load_official_checkpoint(model, ckpt, allow_unused=True)
    assert result.unused == sorted([
        'criterion.empty_weight', 'psm.corrs_in.weight',
        'visual_encoder.proxy.extra'])


def test_shape_mismatch_names_the_key():
    model = make_segmentor('test-vit', decode_head=dict(type='LinearPSM',
                                                        width=16))
    ckpt = {'model': {'visual_encoder.proxy.proj': torch.zeros(32, 24),
                      'psm.corr_proj_in.0.weight': torch.zeros(768, 1)}}
    with pytest.raises(ValueError, match='decode_head.expand.weight'):
        convert_official_state_dict(ckpt['model'], model)


def test_wrong_neck_depth_is_explained():
    model = make_segmentor('test-vit')
    ckpt = {'model': {'visual_encoder.mask_logit_scale': torch.zeros(5, 2)}}
    with pytest.raises(ValueError, match='mask_prior_block'):
        convert_official_state_dict(ckpt['model'], model)


def test_not_an_official_checkpoint():
    model = make_segmentor('test-vit')
    with pytest.raises(KeyError, match='visual_encoder'):
        load_official_checkpoint(model, {'state_dict': {'a': torch.zeros(1)}})


def test_eva_text_tower_under_proxy_gives_the_official_logits():
    """The text-tuned EVA (``wtext``) layout: after conversion the logits
    are those of a model given the official text tower by hand."""
    torch.manual_seed(0)
    model = make_segmentor('test-eva')
    ckpt, _ = official_layout(model, 'test-eva', LINEAR_PSM, True)
    official = ckpt['model']
    assert 'text_encoder.logit_scale' in official
    load_official_checkpoint(model, ckpt)
    by_hand = make_segmentor('test-eva')
    by_hand.load_state_dict({
        k: v for k, v in model.state_dict().items()
        if not k.startswith('text_encoder.')}, strict=False)
    tower = {k[len('text_encoder.proxy.'):]: v for k, v in official.items()
             if k.startswith('text_encoder.proxy.')}
    by_hand.text_encoder.clip.text.load_state_dict(tower)
    with torch.no_grad():
        by_hand.text_encoder.clip.logit_scale.copy_(
            official['text_encoder.logit_scale'])
    by_hand.text_encoder._on_load()
    images = torch.rand(1, 3, 32, 32) * 255
    masks = [(torch.rand(3, 32, 32) > 0.5).float()]
    logits = model.eval().classify_masks(images, masks)[0]
    expected = by_hand.eval().classify_masks(images, masks)[0]
    assert torch.allclose(logits, expected, atol=1e-6)
    assert model.text_encoder.logit_scale == pytest.approx(min(
        float(official['text_encoder.logit_scale'].exp()), 100))


@pytest.mark.parametrize('dropped', ['psm.', 'visual_encoder.proxy.',
                                     'visual_encoder.mask_logit_scale'])
def test_missing_trained_parts_are_refused(dropped):
    model = make_segmentor('test-vit')
    ckpt, _ = official_layout(model, 'test-vit', LINEAR_PSM, False)
    ckpt['model'] = {k: v for k, v in ckpt['model'].items()
                     if not k.startswith(dropped)}
    target = {'psm.': 'decode_head', 'visual_encoder.proxy.': 'backbone',
              'visual_encoder.mask_logit_scale': 'neck'}[dropped]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(KeyError, match=f'trained weights of {target}.*'
                       f'missing keys .*{target}\\.'):
        load_official_checkpoint(model, ckpt)
    for key, value in model.state_dict().items():  # nothing loaded
        assert torch.equal(value, before[key]), key


def test_nothing_matching_is_refused_even_with_allow_unused():
    model = make_segmentor('test-vit')
    ckpt = {'model': {'visual_encoder.other.weight': torch.zeros(2),
                      'psm.other.weight': torch.zeros(2)}}
    with pytest.raises(KeyError, match='0 of 2 official tensors fit'):
        load_official_checkpoint(model, ckpt, allow_unused=True)


def test_summary_says_where_kept_keys_come_from():
    model = make_segmentor('test-vit')  # no pretrained weights
    ckpt, _ = official_layout(model, 'test-vit', LINEAR_PSM, False)
    _, result = load_official_checkpoint(model, ckpt)
    summary = result.summary()
    assert 'pretrained' not in summary.replace('no pretrained', '')
    assert 'keys of text_encoder are not in the checkpoint and keep their ' \
        'values from a random initialisation' in summary
    model.text_encoder.pretrained = 'laion2b_s34b_b79k'
    _, result = load_official_checkpoint(model, ckpt)
    assert "from the pretrained weights 'laion2b_s34b_b79k'" in \
        result.summary()


def _tool_config(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text('model = ' + repr(dict(
        type='MaskCLIPpp',
        backbone=dict(type='OpenCLIPVisual', model_name='test-convnext'),
        text_encoder=dict(type='OpenCLIPTextClassifier',
                          model_name='test-convnext', templates='t1',
                          cache_dir=None),
        decode_head=dict(type='PseudoTextPSM', num_heads=2),
        train_vocabulary=['red', 'green'],
        mask_generator=dict(type='GTMaskGenerator'))) + '\n')
    return str(config)


def test_tool_writes_a_strictly_loadable_checkpoint(tmp_path):
    model = make_segmentor('test-convnext',
                           decode_head=dict(type='PseudoTextPSM', num_heads=2))
    ckpt, where = official_layout(model, 'test-convnext', PSEUDO_TEXT_PSM,
                                  False)
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save(ckpt, src)
    convert_tool.main([_tool_config(tmp_path), str(src), str(dst)])
    with checkpoint_loading():
        saved = torch.load(dst)
    fresh = make_segmentor('test-convnext',
                           decode_head=dict(type='PseudoTextPSM', num_heads=2),
                           vocabulary=['red', 'green'])
    fresh.load_state_dict(saved['state_dict'], strict=True)
    for key, target in where.items():
        assert torch.equal(fresh.state_dict()[target], ckpt['model'][key])
    assert saved['meta']['converted_from'] == str(src)
    assert saved['meta']['dataset_meta']['classes'] == ('red', 'green')


def test_tool_refuses_a_crafted_file_before_reading_it(tmp_path):
    marker = str(tmp_path / 'ran')
    src = write_crafted(str(tmp_path / 'official.pth'), marker,
                        {'model': {'visual_encoder.x': torch.zeros(1)}})
    dst = tmp_path / 'converted.pth'
    with pytest.raises(UnsafeCheckpointError, match='official.pth.*makedirs'):
        convert_tool.main([_tool_config(tmp_path), src, str(dst)])
    assert not osp.exists(marker) and not dst.exists()


def test_tool_refuses_a_file_without_psm(tmp_path):
    model = make_segmentor('test-convnext',
                           decode_head=dict(type='PseudoTextPSM', num_heads=2))
    ckpt, _ = official_layout(model, 'test-convnext', PSEUDO_TEXT_PSM, False)
    ckpt['model'] = {k: v for k, v in ckpt['model'].items()
                     if not k.startswith('psm.')}
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save(ckpt, src)
    with pytest.raises(KeyError, match='decode_head.patch_proj.weight'):
        convert_tool.main([_tool_config(tmp_path), str(src), str(dst),
                           '--allow-unused'])
    assert not dst.exists()
