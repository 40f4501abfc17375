"""The embedded toy world in small: its generator, the CLIP pretraining on
its captions and MaskCLIP++ fine-tuning on its seen classes, through the
real configs and mmengine's Runner."""
import filecmp
import importlib
import os
import os.path as osp
import sys

import mmcv
import numpy as np
import open_clip
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.toy_world import (CaptionBatches, PretrainConfig,
                                        ToyWorld, caption, prepare_toy_clip,
                                        write_segmentation_dataset)
from mmseg_maskclippp.toy_world.pretrain import (contrastive_loss,
                                                 images_to_tensor)
from mmseg_maskclippp.toy_world.world import COLOURS
from mmseg_maskclippp.vocabulary import Vocabulary

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs', 'toy_world')
#: 3 colours x 3 textures at 32 px; blue classes and one pair held out
WORLD = ToyWorld(image_size=32, num_colours=3, num_textures=3,
                 held_out_colours=1, held_out_textures=0, held_out_pairs=1,
                 min_regions=1, max_regions=3, seed=0)
#: a tiny average-pooling ViT of the test suite (tests/tiny_models.py)
TINY_CLIP = 'test-vit-avg'


def write(root, seed=0, num_train=12, num_val=6):
    return write_segmentation_dataset(WORLD, str(root), num_train, num_val,
                                      seed)


def test_world_classes_and_held_out_split():
    assert WORLD.class_names[:4] == [
        'red plain', 'red striped', 'red dotted', 'green plain']
    blue = [c for c in range(9) if WORLD.class_names[c].startswith('blue')]
    unseen = set(WORLD.unseen_classes)
    assert set(blue) < unseen and len(unseen) == 4
    seen_names = WORLD.seen_vocabulary().names
    # every seen colour and texture is still seen somewhere
    assert {n.split()[0] for n in seen_names} == {'red', 'green'}
    assert {n.split()[1] for n in seen_names} == {
        'plain', 'striped', 'dotted'}
    with pytest.raises(ValueError, match='held_out_colours'):
        ToyWorld(num_colours=2, held_out_colours=2)
    with pytest.raises(ValueError, match='cannot hold out'):
        ToyWorld(num_colours=2, num_textures=2, held_out_colours=0,
                 held_out_textures=0, held_out_pairs=3)


def test_generator_is_deterministic_for_a_seed(tmp_path):
    a, b, c = (write(tmp_path / name, seed)
               for name, seed in (('a', 0), ('b', 0), ('c', 1)))
    for folder in ('img_dir/train', 'img_dir/val', 'ann_dir/val'):
        same = filecmp.dircmp(osp.join(a, folder), osp.join(b, folder))
        assert same.left_list and not same.diff_files
        assert filecmp.cmpfiles(osp.join(a, folder), osp.join(b, folder),
                                same.left_list, shallow=False)[1] == []
        other = filecmp.cmpfiles(osp.join(a, folder), osp.join(c, folder),
                                 same.left_list, shallow=False)
        assert other[1], f'seed 1 drew the same {folder} as seed 0'


def _region_colours(root, split, name):
    """Label -> mean RGB of its pixels, from the files on disk."""
    rgb = mmcv.imread(osp.join(root, 'img_dir', split, name),
                      channel_order='rgb').astype(float)
    labels = mmcv.imread(osp.join(root, 'ann_dir', split, name),
                         flag='unchanged')
    return {int(v): rgb[labels == v].mean(0) for v in np.unique(labels)}


def test_held_out_classes_never_appear_in_training(tmp_path):
    root = write(tmp_path, num_train=40, num_val=20)
    seen = Vocabulary.from_file(osp.join(root, 'seen.txt'))
    every = Vocabulary.from_file(osp.join(root, 'all.txt'))
    assert every.names == WORLD.class_names
    assert not set(seen.names) & {
        WORLD.class_names[c] for c in WORLD.unseen_classes}
    palette = np.asarray(list(COLOURS.values()), float)[:3]
    shade = 1 - 0.65 * np.array([0.0, 0.5, 0.3])  # plain, striped, dotted
    train_labels, val_labels = set(), set()
    for split, vocab, labels in (('train', seen, train_labels),
                                 ('val', every, val_labels)):
        for name in sorted(os.listdir(osp.join(root, "ann_dir", split))):
            for label, mean in _region_colours(root, split, name).items():
                colour, texture = divmod(
                    WORLD.class_names.index(vocab.names[label]), 3)
                # the pixels have the colour the label says (dark pattern
                # pixels pull the mean towards black by a known share)
                expected = palette * shade[texture]
                assert np.linalg.norm(expected - mean, axis=1).argmin() \
                    == colour, (split, name, vocab.names[label], mean)
                labels.add(vocab.names[label])
    assert train_labels <= set(seen.names)
    assert {WORLD.class_names[c] for c in WORLD.unseen_classes} & val_labels


def test_captions_cover_every_class_with_texture_twins():
    batches = CaptionBatches(WORLD, batch_size=8, total_steps=10, seed=3)
    images, captions = batches.batch(0)
    assert images.shape == (8, 32, 32, 3) and images.dtype == np.uint8
    # step 0 of the curriculum: single-region scenes only
    assert all(' and a ' not in c for c in captions)
    again = batches.batch(0)
    assert np.array_equal(images, again[0]) and captions == again[1]
    named = set()
    for step in range(10):
        _, captions = batches.batch(step)
        first, twins = captions[:4], captions[4:]
        for c, t in zip(first, twins):
            names, twin_names = (x[len('a photo of a '):-1].split(' and a ')
                                 for x in (c, t))
            assert [n.split()[0] for n in names] == [
                n.split()[0] for n in twin_names]
            assert all(a != b for a, b in zip(names, twin_names))
        named.update(n for c in captions
                     for n in c[len('a photo of a '):-1].split(' and a '))
    assert named == set(WORLD.class_names)
    assert caption(['red plain', 'blue dotted']) == \
        'a photo of a red plain and a blue dotted.'


@pytest.fixture(scope='module')
def toy_clip(tmp_path_factory):
    """A tiny CLIP pretrained for a few steps on the small world."""
    path = str(tmp_path_factory.mktemp('clip') / 'clip.pt')
    cfg = PretrainConfig(model_name=TINY_CLIP, steps=20, batch_size=16,
                         lr=2e-3, warmup=3, seed=0)
    assert prepare_toy_clip(WORLD, cfg, path)
    assert not prepare_toy_clip(WORLD, cfg, path)  # cached
    return path, cfg


@pytest.mark.slow  # pretrains a toy CLIP
def test_pretraining_lowers_the_contrastive_loss(toy_clip):
    path, cfg = toy_clip
    images, captions = CaptionBatches(WORLD, 32, 20, seed=99).batch(19)
    loss_fn = open_clip.loss.ClipLoss()
    tokenizer = open_clip.get_tokenizer(TINY_CLIP)
    losses = []
    for pretrained in (None, path):
        torch.manual_seed(0)
        model = open_clip.create_model(TINY_CLIP, pretrained=pretrained)
        with torch.no_grad():
            losses.append(
                contrastive_loss(model.eval(), tokenizer, loss_fn, images,
                                 captions).item())
    assert losses[1] < 0.8 * losses[0], losses


@pytest.mark.slow  # pretrains a toy CLIP
def test_pretrained_file_loads_as_the_backbone_sees_it(toy_clip):
    """The backbone normalises 0..255 RGB exactly as pretraining did."""
    path, _ = toy_clip
    backbone = MODELS.build(
        dict(type='OpenCLIPVisual', model_name=TINY_CLIP, pretrained=path))
    model = open_clip.create_model(TINY_CLIP, pretrained=path).eval()
    images, _ = CaptionBatches(WORLD, 4, 1, seed=5).batch(0)
    rgb = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    expected = images_to_tensor(model, images)
    assert torch.allclose(backbone.normalize(rgb), expected, atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(
            backbone.image_embedding(backbone.normalize(rgb)),
            model.encode_image(expected), atol=1e-4)


def toy_config(name, data_root, clip_path, work_dir, iters=30):
    """A toy-world config on the small world and the tiny CLIP."""
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    for part in (cfg.model.backbone, cfg.model.text_encoder):
        part.model_name = TINY_CLIP
        part.pretrained = clip_path
    cfg.model.text_encoder.cache_dir = None
    cfg.model.train_vocabulary = osp.join(data_root, 'seen.txt')
    cfg.model.test_vocabulary = osp.join(data_root, 'all.txt')
    cfg.model.data_preprocessor.size_divisor = 32
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = data_root
    cfg.train_dataloader.batch_size = 8
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg.max_iters = iters
    cfg.param_scheduler[0].T_max = cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.optim_wrapper.optimizer.lr = 1e-3
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


@pytest.mark.slow  # pretrains a toy CLIP
def test_finetuning_raises_seen_mask_accuracy(toy_clip, tmp_path):
    root = write(tmp_path / 'data', num_train=32, num_val=16)
    accuracy = {}
    for name in ('frozen-clip_toy-vit.py',
                 'maskclippp_toy-vit_linear-psm.py'):
        cfg = toy_config(name, root, toy_clip[0], str(tmp_path / name))
        cfg.experiment_name = name
        runner = Runner.from_cfg(cfg)
        if name.startswith('maskclippp'):
            runner.train()
        metrics = runner.test()
        accuracy[name] = metrics['mMaskAcc(S)']
    frozen, tuned = accuracy.values()
    assert tuned > frozen + 15, accuracy


def import_main_job():
    """tools/main_job.py as a module."""
    if osp.join(ROOT, 'tools') not in sys.path:
        sys.path.insert(0, osp.join(ROOT, 'tools'))
    return importlib.import_module('main_job')


def test_every_table_1_row_has_a_toy_config():
    """The main job's rows: one config per row of the paper's Table 1,
    each building its PSM (the ablation heads not as the identity)."""
    main_job = import_main_job()
    heads = {}
    for _, name, _ in main_job.MODELS:
        head = Config.fromfile(osp.join(CONFIGS, name)).model.decode_head
        heads[name] = (head.type, head.get('text_residual', True))
    assert sorted(heads.values()) == sorted([
        ('MeanTemplatePSM', True), ('LinearPSM', True),
        ('PseudoTextPSM', True), ('MeanTemplatePSM', True),
        ('LinearMaskEmbeddingPSM', True), ('LinearTextEmbeddingPSM', True),
        ('PseudoTextPSM', False)
    ])
    for name, (kind, _) in heads.items():
        if kind.startswith('LinearMask') or kind.startswith('LinearText'):
            head = MODELS.build(dict(type=kind, embed_dims=8,
                                     num_templates=1))
            assert not torch.allclose(head.update.weight, torch.eye(8))


def test_main_job_table_reports_every_seed_and_their_mean():
    main_job = import_main_job()
    scores = dict.fromkeys(main_job.COLUMNS)
    rows = [
        dict(model='frozen', masks='GT', seed=None, **dict(scores, mIoU=40.0)),
        dict(model='tuned', masks='GT', seed=0, **dict(scores, mIoU=80.0)),
        dict(model='tuned', masks='GT', seed=1, **dict(scores, mIoU=70.0)),
    ]
    table = main_job.markdown_table(rows).splitlines()
    assert table[2].startswith('| frozen | GT | – | 40.0 | –')
    assert table[3].startswith('| tuned | GT | 0 | 80.0 |')
    assert table[4].startswith('| tuned | GT | 1 | 70.0 |')
    assert table[5].startswith('| tuned | GT | mean | 75.0 | –')
    assert len(table) == 6
