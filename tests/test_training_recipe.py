"""The training recipe of every training config against the official one:
parameter groups (lr and weight decay per parameter), the final lr of the
cosine schedule, the total batch and the text fine-tuning scope."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS
from torch import nn

from mmseg_maskclippp.engine import MaskCLIPppOptimWrapperConstructor
from mmseg_maskclippp.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.basename(p)
    for p in glob.glob(osp.join(ROOT, 'configs', 'maskclippp_*.py')))
#: config name part -> the tiny CLIP of the same family
FAMILIES = {
    'convnext': 'test-convnext',
    'eva02': 'test-eva',
    'eva01': 'test-eva01',
    'rn50': 'test-resnet',
    'vit-': 'test-vit'
}
#: official (per config, fact sheet section 5.3): base lr, CLIP-V and CLIP-T
#: multipliers
OFFICIAL_LR = {
    'maskclippp_convnext_b_coco-panoptic.py': (2e-4, 1e-3, None),
    'maskclippp_convnext_b_coco-stuff.py': (2e-4, 1e-3, None),
    'maskclippp_convnext_l_coco-panoptic.py': (1e-4, 1e-3, None),
    'maskclippp_convnext_xxl_coco-panoptic.py': (1e-4, 1e-3, None),
    'maskclippp_rn50x16_coco-panoptic.py': (2e-4, 1e-2, None),
    'maskclippp_eva02-b16_coco-panoptic.py': (2e-4, 1e-2, None),
    'maskclippp_eva02-l14-336_coco-panoptic.py': (2e-4, 1e-2, None),
    'maskclippp_eva02-l14-336-text-ft_coco-stuff.py': (2e-4, 1e-2, 1e-2),
    'maskclippp_eva01-g14-plus_coco-panoptic.py': (2e-4, 1e-2, None),
    # no official config: the paper's ViT rule (x0.01)
    'maskclippp_vit-b16_coco-panoptic.py': (2e-4, 1e-2, None),
    'maskclippp_vit-l14_coco-panoptic.py': (2e-4, 1e-2, None),
}
#: the normalisation classes the official solver lists
OFFICIAL_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
                  nn.SyncBatchNorm, nn.GroupNorm, nn.InstanceNorm1d,
                  nn.InstanceNorm2d, nn.InstanceNorm3d, nn.LayerNorm,
                  nn.LocalResponseNorm)
WEIGHT_DECAY, LR_END = 0.05, 1e-5


def tiny_config(name):
    """Training config ``name`` with the tiny CLIP of its family and small
    vocabularies (nothing downloaded)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    family = next(v for k, v in FAMILIES.items() if k in name)
    model = cfg.model
    for part in (model.backbone, model.text_encoder):
        part.model_name = family
        part.pretrained = None
    model.text_encoder.cache_dir = None
    model.train_vocabulary = ['red', 'green', 'blue']
    model.test_vocabulary = ['red', 'green', 'blue', 'grey']
    if model.decode_head.get('num_heads'):
        model.decode_head.num_heads = 2
    if model.decode_head.get('width'):
        model.decode_head.width = 16
    cfg.optim_wrapper.type = 'OptimWrapper'  # AMP needs a GPU
    return cfg


@pytest.fixture(scope='module')
def models():
    """Tiny models by the parts of their config that hold parameters
    (configs of one family share one)."""
    return {}


@pytest.fixture(params=CONFIGS)
def built(request, models):
    """(config name, config, model, optimizer wrapper)."""
    cfg = tiny_config(request.param)
    key = repr([
        cfg.model.get(part) for part in ('backbone', 'text_encoder', 'neck',
                                         'decode_head', 'loss')
    ])
    if key not in models:
        models[key] = MODELS.build(cfg.model)
    model = models[key]
    return request.param, cfg, model, build_optim_wrapper(
        model, cfg.optim_wrapper)


def official_rules(model, base_lr, clip_mult, text_mult):
    """{name: (lr, weight decay)} of every trainable parameter by the
    official solver's rules (train_maskclippp.py, fact sheet 5.1), with
    ``visual_encoder.proxy`` -> ``backbone.clip`` and ``text_encoder`` ->
    ``text_encoder``: the multiplier goes by the owning module's name; no
    decay on norm layers, embeddings, a module's ``no_weight_decay()`` names
    and Swin position tables; one group per parameter."""
    rules = {}
    for module_name, module in model.named_modules():
        skip = module.no_weight_decay() if hasattr(
            module, 'no_weight_decay') else set()
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            lr, decay = base_lr, WEIGHT_DECAY
            if module_name.startswith('backbone.clip'):
                lr *= clip_mult
            if module_name.startswith('text_encoder'):
                lr *= text_mult
            if name in skip or 'relative_position_bias_table' in name \
                    or 'absolute_pos_embed' in name:
                decay = 0.0
            if isinstance(module, OFFICIAL_NORMS + (nn.Embedding, )):
                decay = 0.0
            rules[f'{module_name}.{name}'] = (lr, decay)
    return rules


def groups_by_name(model, optim_wrapper):
    """{parameter name: (lr, weight decay)} of the built optimizer; fails if
    a parameter is in two groups or a group holds several parameters."""
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in optim_wrapper.optimizer.param_groups:
        assert len(group['params']) == 1
        name = names[id(group['params'][0])]
        assert name not in out, name
        out[name] = (group['lr'], group['weight_decay'])
    return out


def test_parameter_groups_are_the_official_ones(built):
    name, cfg, model, optim_wrapper = built
    base_lr, clip_mult, text_mult = OFFICIAL_LR[name]
    assert cfg.optim_wrapper.optimizer.lr == base_lr
    groups = groups_by_name(model, optim_wrapper)
    expected = official_rules(model, base_lr, clip_mult, text_mult)
    assert set(groups) == {
        n for n, p in model.named_parameters() if p.requires_grad}
    assert set(groups) == set(expected)
    for param, (lr, decay) in expected.items():
        assert groups[param] == pytest.approx((lr, decay), rel=1e-9), param


def test_decay_rules_the_old_config_got_wrong(built):
    """Pinned by hand: CLIP norms and the PSM norm never decay, whatever
    their lr multiplier; position embeddings of ViTs and CLIP-T do not
    decay, the ResNet attention-pool one does (official: 0.05)."""
    name, _, model, optim_wrapper = built
    groups = groups_by_name(model, optim_wrapper)
    base_lr, clip_mult, _ = OFFICIAL_LR[name]
    if 'convnext' in name:
        norms = [n for n in groups if n.startswith('backbone.clip.trunk.')
                 and ('.norm.' in n or 'stem.1.' in n)]
        assert norms
        for n in norms:
            assert groups[n] == pytest.approx((base_lr * clip_mult, 0.0)), n
        assert groups['decode_head.norm.weight'] == (base_lr, 0.0)
        assert groups['decode_head.patch_proj.weight'] == (base_lr, 0.05)
    if 'rn50' in name:
        assert groups['backbone.clip.attnpool.positional_embedding'] == \
            pytest.approx((base_lr * clip_mult, 0.05))
        assert groups['backbone.clip.bn1.weight'] == pytest.approx(
            (base_lr * clip_mult, 0.0))
    if 'vit-' in name:
        assert groups['backbone.clip.positional_embedding'][1] == 0.0
    if 'eva02' in name:
        assert groups['backbone.clip.trunk.pos_embed'][1] == 0.0
    if 'text-ft' in name:
        text = 'text_encoder.clip.text.'
        assert groups[text + 'positional_embedding'] == pytest.approx(
            (base_lr * 0.01, 0.0))
        block = text + 'transformer.resblocks.0.'
        assert groups[block + 'ln_1.weight'][1] == 0.0
        assert groups[block + 'mlp.c_fc.weight'][1] == 0.05
        assert groups[block + 'attn.in_proj_weight'][1] == 0.05


def test_schedule_ends_at_the_official_final_lr(built):
    """Cosine to BASE_LR_END = 1e-5 times each group's multiplier."""
    name, cfg, model, optim_wrapper = built
    base_lr = OFFICIAL_LR[name][0]
    initial = [g['lr'] for g in optim_wrapper.optimizer.param_groups]
    (scheduler_cfg, ) = cfg.param_scheduler
    assert scheduler_cfg.T_max == scheduler_cfg.end == 20000
    assert scheduler_cfg.type == 'CosineAnnealingLR'
    # a short cosine (the final lr does not depend on its length), run one
    # step further so that the lr of step T_max itself is applied
    steps = 4
    scheduler = PARAM_SCHEDULERS.build(
        dict(scheduler_cfg, T_max=steps, end=steps + 1),
        default_args=dict(optimizer=optim_wrapper))
    for _ in range(steps + 1):
        scheduler.step()
    final = [g['lr'] for g in optim_wrapper.optimizer.param_groups]
    assert final == pytest.approx(
        [lr / base_lr * LR_END for lr in initial], rel=1e-6)


@pytest.mark.parametrize('name', CONFIGS)
def test_total_batch_is_the_papers(name):
    """2 images per GPU; the paper's 4 is 2 GPUs, and --auto-scale-lr
    scales from it."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=4)


def official_text_selection(name):
    """The official EVA text encoder's 'attention' selection
    (tencoder/eva_clip.py, fact sheet 2.3), restated: in the transformer,
    parameters named ``attn`` train only if they are the input-projection
    weight; other transformer parameters are never frozen; outside it only
    the position embedding trains."""
    if 'transformer' in name:
        return 'in_proj_weight' in name if 'attn' in name else True
    return 'position' in name


def test_text_finetuning_scope_is_the_official_one():
    cfg = tiny_config('maskclippp_eva02-l14-336-text-ft_coco-stuff.py')
    text = MODELS.build(cfg.model.text_encoder)
    trainable = {n for n, p in text.clip.named_parameters() if p.requires_grad}
    official = {n for n, _ in text.clip.named_parameters()
                if official_text_selection(n)}
    assert trainable == official
    # what that means, spelled out on block 0
    block = 'text.transformer.resblocks.0.'
    assert {block + n for n in ('ln_1.weight', 'ln_2.bias', 'mlp.c_fc.weight',
                                'attn.in_proj_weight')} <= trainable
    assert not {block + 'attn.in_proj_bias', block + 'attn.out_proj.weight',
                'text.token_embedding.weight', 'text.ln_final.weight',
                'text.text_projection', 'logit_scale'} & trainable


def test_attention_scope_is_the_papers_wording():
    cfg = tiny_config('maskclippp_eva02-l14-336-text-ft_coco-stuff.py')
    cfg.model.text_encoder.finetune = 'attention'
    text = MODELS.build(cfg.model.text_encoder)
    trainable = {n for n, p in text.clip.named_parameters() if p.requires_grad}
    assert trainable == {n for n, _ in text.clip.named_parameters()
                         if n.endswith('positional_embedding')
                         or n.endswith('attn.in_proj_weight')}


def test_constructor_takes_only_lr_mult():
    with pytest.raises(ValueError, match="only 'lr_mult'.*custom_keys"):
        MaskCLIPppOptimWrapperConstructor(
            dict(optimizer=dict(type='AdamW', lr=1e-3)),
            dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
    with pytest.raises(TypeError, match='lr_mult must map'):
        MaskCLIPppOptimWrapperConstructor(
            dict(optimizer=dict(type='AdamW', lr=1e-3)),
            dict(lr_mult={'backbone': 'slow'}))


def test_longest_lr_mult_prefix_wins_and_frozen_parameters_stay_out():
    model = nn.Sequential(
        nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2)))
    model[0].bias.requires_grad = False
    optim_wrapper = MaskCLIPppOptimWrapperConstructor(
        dict(optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.5)),
        dict(lr_mult={'1': 0.1, '1.1': 0.01, '0.weigh': 7.0}))(model)
    groups = groups_by_name(model, optim_wrapper)
    assert groups == {
        '0.weight': (1.0, 0.5),  # a prefix matches whole name parts only
        '1.0.weight': (0.1, 0.5),
        '1.0.bias': (0.1, 0.5),  # biases decay
        '1.1.weight': (0.01, 0.0),
        '1.1.bias': (0.01, 0.0),
    }
    assert torch.equal(optim_wrapper.optimizer.param_groups[0]['params'][0],
                       model[0].weight)
