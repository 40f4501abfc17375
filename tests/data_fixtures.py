"""Tiny datasets in the real on-disk layouts, and real configs made runnable
on a CPU with the tiny CLIPs of ``tiny_models.py``."""
import copy
import json
import os
import os.path as osp

import mmcv
import numpy as np
import torch
from mmengine import Config

from mmseg_maskclippp.vocabulary import Vocabulary

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BENCH_DIR = osp.join(ROOT, 'configs', 'benchmarks')


def _stripes(rng, labels, h, w):
    """A label map of vertical stripes, one per label."""
    seg = np.zeros((h, w), np.uint8)
    bounds = np.linspace(0, w, len(labels) + 1).astype(int)
    for label, a, b in zip(labels, bounds[:-1], bounds[1:]):
        seg[:, a:b] = label
    return seg


def _image(rng, h, w):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def write_coco_stuff(root, num=4, size=(64, 64), seed=0):
    """``images/train2017/*.jpg`` + ``annotations/train2017/
    *_labelTrainIds.png`` (171 classes, 255 ignored), mmseg's layout."""
    rng = np.random.default_rng(seed)
    for i in range(num):
        labels = rng.choice(171, size=3, replace=False)
        seg = _stripes(rng, labels, *size)
        seg[:2] = 255
        mmcv.imwrite(_image(rng, *size),
                     osp.join(root, 'images/train2017', f'{i:012d}.jpg'))
        mmcv.imwrite(
            seg,
            osp.join(root, 'annotations/train2017',
                     f'{i:012d}_labelTrainIds.png'))
    return root


def write_ade20k(root, num=2, size=(48, 64), seed=1):
    """``images/validation/*.jpg`` + ``annotations/validation/*.png`` with
    ADE20K's encoding (0 = unlabelled, 1..150 = classes)."""
    rng = np.random.default_rng(seed)
    for i in range(num):
        seg = _stripes(rng, rng.choice(np.arange(1, 151), 3, replace=False),
                       *size)
        name = f'ADE_val_{i:08d}'
        mmcv.imwrite(_image(rng, *size),
                     osp.join(root, 'images/validation', name + '.jpg'))
        mmcv.imwrite(seg, osp.join(root, 'annotations/validation',
                                   name + '.png'))
    return root


def write_coco_panoptic(root, num=3, size=(64, 64), seed=2):
    """COCO panoptic 2017 layout: ``train2017/*.jpg``,
    ``annotations/panoptic_train2017/*.png`` (RGB segment ids) and
    ``annotations/panoptic_train2017.json``; per image two 'person'
    instances (thing), one 'wall' region (stuff) and one crowd segment."""
    from mmdet.datasets import CocoPanopticDataset
    rng = np.random.default_rng(seed)
    classes = CocoPanopticDataset.METAINFO['classes']
    things = set(CocoPanopticDataset.METAINFO['thing_classes'])
    categories = [
        dict(id=i + 1, name=name, isthing=int(name in things),
             supercategory='x') for i, name in enumerate(classes)
    ]
    wall = classes.index('wall-other-merged') + 1
    images, annotations = [], []
    os.makedirs(osp.join(root, 'annotations/panoptic_train2017'),
                exist_ok=True)
    h, w = size
    for i in range(num):
        name = f'{i:012d}'
        ids = np.zeros((h, w), np.int64)
        segments = []
        quarters = np.linspace(0, w, 5).astype(int)
        for k, (cat, crowd) in enumerate([(1, 0), (1, 0), (wall, 0),
                                          (1, 1)]):
            seg_id = 10 * (i + 1) + k + 1
            ids[:, quarters[k]:quarters[k + 1]] = seg_id
            area = int((ids == seg_id).sum())
            segments.append(
                dict(id=seg_id, category_id=cat, iscrowd=crowd, area=area,
                     bbox=[int(quarters[k]), 0,
                           int(quarters[k + 1] - quarters[k]), h]))
        rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1)
        mmcv.imwrite(rgb[..., ::-1].astype(np.uint8),
                     osp.join(root, 'annotations/panoptic_train2017',
                              name + '.png'))
        mmcv.imwrite(_image(rng, h, w),
                     osp.join(root, 'train2017', name + '.jpg'))
        images.append(dict(id=i, file_name=name + '.jpg', height=h, width=w))
        annotations.append(
            dict(image_id=i, file_name=name + '.png', segments_info=segments))
    with open(osp.join(root, 'annotations/panoptic_train2017.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=categories), f)
    return root


def wide_label_map(num_classes, h=24, w=32):
    """A 16-bit map with class 0, the last class (> 255) and ignore."""
    seg = np.full((h, w), 65535, np.uint16)
    seg[:, :w // 3] = 0
    seg[:, w // 3:2 * w // 3] = num_classes - 1
    return seg


def write_vocabulary(path, num_classes):
    Vocabulary([f'class {i},synonym {i}' for i in range(num_classes)]) \
        .to_file(path)


def write_ade847(root, num_classes=300, num=1, vocabulary=None):
    """The layout written by tools/dataset_converters/ade20k_847.py, with
    ``num_classes`` classes ``'class i'`` or the classes of
    ``vocabulary``."""
    path = osp.join(root, 'ade847_vocabulary.txt')
    if vocabulary is None:
        write_vocabulary(path, num_classes)
    else:
        vocabulary.to_file(path)
        num_classes = len(vocabulary)
    for i in range(num):
        name = f'cultural/apse/ADE_val_{i:08d}'
        mmcv.imwrite(
            np.random.default_rng(i).integers(0, 256, (24, 32, 3), np.uint8),
            osp.join(root, 'images/ADE/validation', name + '.jpg'))
        mmcv.imwrite(wide_label_map(num_classes),
                     osp.join(root, 'annotations_847/validation',
                              name + '.png'))
    return root


def cpu_config(path, model_name, work_dir, train_root, val_root,
               iters=2, batch_size=2, crop_size=None):
    """Load a real config and make it run here: tiny CLIP with random
    weights, the given data roots, no AMP (CPU), few iterations, no
    workers, text cache in the work dir."""
    cfg = Config.fromfile(path)
    model = cfg.model
    for part in (model.backbone, model.text_encoder):
        part.model_name = model_name
        part.pretrained = None
    model.text_encoder.cache_dir = osp.join(work_dir, 'text_cache')
    if model.decode_head.get('num_heads'):
        model.decode_head.num_heads = 2
    if model.decode_head.get('width'):
        model.decode_head.width = 16
    model.test_cfg.clip_short_side = 32
    cfg.work_dir = work_dir
    cfg.optim_wrapper.type = 'OptimWrapper'  # AMP needs a GPU
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[0].T_max = iters
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 1
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.dataset.data_root = train_root
    if crop_size is not None:
        for step in cfg.train_dataloader.dataset.pipeline:
            for key in ('crop_size', 'size', 'scale'):
                if key in step and step['type'] != 'RandomChoiceResize':
                    step[key] = crop_size
            if step['type'] == 'RandomChoiceResize':
                step['scales'] = [crop_size[0]]
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = val_root
    return cfg


def small_validation(cfg):
    """Validate at a small size: the real pipeline upsamples to 1024."""
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.pipeline[1] = dict(
            type='ResizeShortestEdge', scale=48, max_size=128)


def tiny(cfg, work_dir, data_root):
    """Tiny random CLIP, one template, small images, no workers."""
    for part in (cfg.model.backbone, cfg.model.text_encoder):
        part.model_name = 'test-convnext'
        part.pretrained = None
    cfg.model.text_encoder.templates = 't1'
    cfg.model.text_encoder.cache_dir = osp.join(work_dir, 'text_cache')
    cfg.model.decode_head.num_heads = 2
    cfg.model.test_cfg.clip_short_side = 32
    cfg.work_dir = work_dir
    loader = cfg.test_dataloader
    loader.num_workers = 0
    loader.persistent_workers = False
    loader.dataset.data_root = data_root
    for step in loader.dataset.pipeline:
        if step['type'] == 'ResizeShortestEdge':
            step.update(scale=32, max_size=64)
    cfg.val_dataloader = loader
    return cfg


def write_demo_model(root, test_classes):
    """A tiny random MaskCLIP++ (``test-convnext``) for the demos, in
    ``root``: its config with the GT oracle as trained (``config``) and with
    Felzenszwalb masks (``felzenszwalb_config``), a checkpoint, and two
    small images of four flat quadrants each (``images``)."""
    from mmengine.registry import init_default_scope

    from mmseg_maskclippp.registry import MODELS
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    cfg = cpu_config(
        osp.join(repo, 'configs', 'maskclippp_convnext_b_coco-stuff.py'),
        'test-convnext', str(root / 'work'), str(root / 'unused'),
        str(root / 'unused'))
    cfg.model.text_encoder.templates = 't1'
    cfg.model.train_vocabulary = ['sky', 'tree', 'person']
    cfg.model.test_vocabulary = list(test_classes)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'ResizeShortestEdge':
            step['scale'], step['max_size'] = 64, 128
    config = str(root / 'tiny_gt.py')  # the GT oracle, as trained
    cfg.dump(config)
    cfg.model.mask_generator = dict(
        type='FelzenszwalbMaskGenerator', scale=100.0, min_size=50)
    felzenszwalb_config = str(root / 'tiny_felzenszwalb.py')
    cfg.dump(felzenszwalb_config)

    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    checkpoint = str(root / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)

    images = root / 'images'
    rng = np.random.default_rng(0)
    for name, (h, w) in [('a', (48, 64)), ('b', (64, 40))]:
        image = np.zeros((h, w, 3), np.uint8)
        for rows in (slice(0, h // 2), slice(h // 2, h)):
            for cols in (slice(0, w // 2), slice(w // 2, w)):
                image[rows, cols] = rng.integers(0, 256, 3)
        image += rng.integers(0, 6, image.shape, dtype=np.uint8)
        mmcv.imwrite(image, str(images / f'{name}.png'))
    return dict(root=root, config=config, checkpoint=checkpoint,
                felzenszwalb_config=felzenszwalb_config,
                images=str(images), cfg=cfg)
