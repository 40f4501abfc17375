"""The benchmark configs: every one loads and matches its name and main
model config; one per dataset kind runs end to end through mmengine's
Runner (tiny random CLIP, generated data)."""
import functools
import glob
import importlib.util
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmengine import Config
from mmengine.runner import Runner

from data_fixtures import tiny, write_ade847
from mmseg_maskclippp.vocabulary import Vocabulary

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BENCH_DIR = osp.join(ROOT, 'configs', 'benchmarks')
_spec = importlib.util.spec_from_file_location(
    'generate_benchmark_configs',
    osp.join(ROOT, 'tools', 'misc', 'generate_benchmark_configs.py'))
generator = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generator)
#: the benchmark matrix, from the table the configs are generated from
MATRIX = {
    osp.join(BENCH_DIR, f'maskclippp_{main}_{gen}_{bench}.py'):
    (main, gen, bench)
    for main, gen, bench in generator.benchmark_configs()
}
LEAVES = sorted(MATRIX)
MAINS = sorted(
    osp.basename(p)[len('maskclippp_'):-3]
    for p in glob.glob(osp.join(ROOT, 'configs', 'maskclippp_*.py')))
GENERATORS = {
    'm2f-swin-t': 'Mask2FormerGenerator',
    'm2f-swin-l': 'Mask2FormerGenerator',
    'gt-oracle': 'GTMaskGenerator',
    'offline': 'OfflineMaskGenerator',
    'maft-b-ens': 'OfflineMaskGenerator',
    'maft-l-ens': 'OfflineMaskGenerator',
    'fcclip-b': 'OfflineMaskGenerator',
    'fcclip-l': 'OfflineMaskGenerator',
}
#: exports with class logits: (gamma, the generator's training vocabulary
#: = the seen set of Eq. 4), as the README's MAFT+ / FC-CLIP rows
OPEN_VOCABULARY_EXPORTS = {
    'maft-b-ens': (0.4, 'coco_stuff'),
    'maft-l-ens': (0.1, 'coco_stuff'),
    'fcclip-b': (0.0, 'coco_panoptic'),
    'fcclip-l': (0.0, 'coco_panoptic'),
}
BENCHMARKS = {  # name: (dataset type, test vocabulary, tasks)
    'ade847': ('ADE20K847Dataset', 'ade847', ('semantic', )),
    'pc459': ('PascalContext459Dataset', 'pc459', ('semantic', )),
    'ade150': ('ADE20KDataset', 'ade150', ('semantic', )),
    'pc59': ('PascalContextDataset59', 'pc59', ('semantic', )),
    'voc20': ('PascalVOC20Dataset', 'voc20', ('semantic', )),
    'ade150-panoptic': ('mmdet.ADE20KPanopticDataset', 'ade150_panoptic',
                        ('semantic', 'panoptic')),
    'ade150-instance': ('mmdet.ADE20KInstanceDataset', 'ade150_panoptic',
                        ('semantic', 'instance')),
}
#: test-pipeline resize (short side, long side at most) of each model's
#: official config, whatever the benchmark (official-implementation fact
#: sheet, sections 5.3 and 6.1): the COCO-Panoptic configs' test mapper,
#: the COCO-Stuff ConvNeXt-B and EVA02-L (wtext) ones. The OpenAI ViTs have
#: no official config and follow the COCO-Panoptic ones.
OFFICIAL_TEST_SIZE = {
    'convnext_b_coco-panoptic': (800, 2560),
    'convnext_l_coco-panoptic': (800, 2560),
    'convnext_xxl_coco-panoptic': (800, 2560),
    'rn50x16_coco-panoptic': (800, 2560),
    'eva02-b16_coco-panoptic': (800, 2560),
    'eva02-l14-336_coco-panoptic': (800, 2560),
    'eva01-g14-plus_coco-panoptic': (800, 2560),
    'vit-b16_coco-panoptic': (800, 2560),
    'vit-l14_coco-panoptic': (800, 2560),
    'convnext_b_coco-stuff': (1024, 2048),
    'eva02-l14-336-text-ft_coco-stuff': (512, 2048),
}


def parse(path):
    return MATRIX[path]


@functools.lru_cache(maxsize=None)
def load(path):
    """A config parsed once for every test that reads it (read only)."""
    return Config.fromfile(path)


def test_benchmark_configs_are_the_generated_ones(capsys):
    """Every file in configs/benchmarks is what the generator's table
    writes, and the table names no other."""
    assert generator.main(['--check']) == 0, capsys.readouterr().out
    assert sorted(glob.glob(osp.join(BENCH_DIR, '*.py'))) == LEAVES


def test_generator_check_reports_an_edited_config(tmp_path, monkeypatch,
                                                  capsys):
    """``--check`` fails on a hand edit and on a file the table lacks."""
    leaf = osp.join(str(tmp_path), osp.basename(LEAVES[0]))
    monkeypatch.setattr(generator, 'OUT_DIR', str(tmp_path))
    assert generator.main([]) == 0
    assert generator.main(['--check']) == 0
    with open(leaf, 'a') as f:
        f.write('model = dict(ensemble=dict(gamma=0.5))\n')
    assert generator.main(['--check']) == 1
    assert osp.basename(leaf) in capsys.readouterr().out
    assert generator.main([]) == 0  # rewrites it
    assert generator.main(['--check']) == 0
    open(osp.join(str(tmp_path), 'maskclippp_x.py'), 'w').close()
    assert generator.main(['--check']) == 1
    assert 'not in the table' in capsys.readouterr().out


def test_every_main_model_on_every_benchmark():
    covered = {parse(p)[::2] for p in LEAVES}
    assert covered == {(m, b) for m in MAINS for b in BENCHMARKS}
    assert set(OFFICIAL_TEST_SIZE) == set(MAINS)
    assert set(generator.MODELS) == set(MAINS)
    assert set(generator.GENERATORS) == set(GENERATORS)


@pytest.mark.parametrize('path', LEAVES, ids=osp.basename)
def test_benchmark_test_size_is_the_models_official_one(path):
    """The test pipeline is the dataset's with its one resize set to the
    model's official test size."""
    main, _, bench = parse(path)
    cfg = load(path)
    short, long = OFFICIAL_TEST_SIZE[main]
    resize = dict(type='ResizeShortestEdge', scale=short, max_size=long)
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert [t for t in pipeline if 'Resize' in t['type']] == [resize]
    dataset = load(
        osp.join(ROOT, 'configs', '_base_', 'datasets',
                 generator.BENCHMARKS[bench][0])).test_dataloader.dataset
    assert dataset.pipeline[1]['type'] == 'ResizeShortestEdge'
    assert pipeline == dataset.pipeline[:1] + [resize] + dataset.pipeline[2:]
    assert cfg.val_dataloader == cfg.test_dataloader


@pytest.mark.parametrize('main', MAINS)
def test_benchmark_model_is_the_main_model(main):
    """A main config takes its model from the benchmark model base (no
    copy) and changes only the vocabulary it validates on."""
    path = osp.join(ROOT, 'configs', f'maskclippp_{main}.py')
    with open(path) as f:
        assert f"'./benchmarks/_base_/maskclippp_{main}.py'" in f.read()
    trained = Config.fromfile(path).model.to_dict()
    tested = Config.fromfile(
        osp.join(BENCH_DIR, '_base_', f'maskclippp_{main}.py')).model.to_dict()
    assert trained.pop('test_vocabulary') == 'ade150'
    assert tested == trained


@pytest.mark.parametrize('main', MAINS)
def test_main_config_header_states_its_batch_and_schedule(main):
    """The names carry no batch / schedule (docs/benchmarks.md, "Config
    names"): the comment header states them, and says what the config
    does."""
    path = osp.join(ROOT, 'configs', f'maskclippp_{main}.py')
    with open(path) as f:
        header = f.read().split('_base_ = [')[0]
    assert '# Schedule: total batch 4 (2 GPUs x 2 images, auto_scale_lr), ' \
        '20k iterations.' in header
    cfg = Config.fromfile(path)
    assert cfg.auto_scale_lr.base_batch_size == 4
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_cfg.max_iters == 20000
    assert [s['end'] for s in cfg.param_scheduler] == [20000]


@pytest.mark.parametrize('path', LEAVES, ids=osp.basename)
def test_benchmark_config_loads(path):
    main, gen, bench = parse(path)
    with open(path) as f:
        assert f.readline() == generator.HEADER + '\n'
        assert f.readline().startswith(('# Paper', '# Official'))
    cfg = load(path)
    dataset_type, vocabulary, tasks = BENCHMARKS[bench]
    assert cfg.test_dataloader.dataset.type == dataset_type
    assert cfg.val_dataloader == cfg.test_dataloader
    assert cfg.model.test_vocabulary == vocabulary
    if bench in ('ade847', 'pc459'):  # checked against the label order
        assert cfg.test_dataloader.dataset.test_vocabulary == vocabulary
    assert tuple(cfg.model.test_cfg.tasks) == tasks
    assert cfg.model.mask_generator.type == GENERATORS[gen]
    evaluators = cfg.test_evaluator
    if not isinstance(evaluators, list):
        evaluators = [evaluators]
    if tasks == ('semantic', ):
        assert evaluators[0].type == 'OpenVocabIoUMetric'
        ignore = 65535 if bench in ('ade847', 'pc459') else 255
        assert evaluators[0].ignore_index == ignore
    if gen == 'gt-oracle':
        assert cfg.model.mask_generator.ignore_index == ignore
        assert evaluators[1].type == 'MaskAccuracyMetric'
    if gen in OPEN_VOCABULARY_EXPORTS:
        gamma, seen = OPEN_VOCABULARY_EXPORTS[gen]
        assert cfg.model.ensemble.seen_vocabulary == seen
        assert cfg.model.mask_generator.format == 'npz'
        assert cfg.model.mask_generator.mask_dir.endswith(
            f'/{gen.replace("-ens", "")}/{bench}')
    elif 'panoptic' not in tasks and 'instance' not in tasks:
        gamma = 0.1 if gen.startswith('m2f') else 0.0
    else:
        gamma = 0.0
    assert cfg.model.ensemble.gamma == gamma


# ---------------------------------------------------------------------------
# end to end
def write_ade_coco(root, kind):
    """ADE20K validation in the COCO formats of mmdet's ade20k2coco.py: one
    24 x 32 image with two instances of a thing class and a stuff region."""
    from mmdet.datasets import ADE20KPanopticDataset
    meta = ADE20KPanopticDataset.METAINFO
    things = set(meta['thing_classes'])
    categories = [
        dict(id=i + 1, name=n, isthing=int(n in things), supercategory='x')
        for i, n in enumerate(meta['classes'])
    ]
    thing = next(c for c in categories if c['isthing'])
    stuff = next(c for c in categories if not c['isthing'])
    h, w = 24, 32
    ids = np.zeros((h, w), np.int64)
    segments = []
    for k, (cat, a, b) in enumerate([(thing, 0, 10), (thing, 10, 20),
                                     (stuff, 20, 32)]):
        ids[:, a:b] = k + 1
        segments.append(
            dict(id=k + 1, category_id=cat['id'], iscrowd=0,
                 area=h * (b - a), bbox=[a, 0, b - a, h]))
    name = 'ADE_val_00000001'
    mmcv.imwrite(
        np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8),
        osp.join(root, 'images/validation', name + '.jpg'))
    image = dict(id=0, file_name=name + '.jpg', height=h, width=w)
    if kind == 'panoptic':
        rgb = np.stack([ids % 256, ids // 256, ids * 0], -1).astype(np.uint8)
        mmcv.imwrite(np.ascontiguousarray(rgb[..., ::-1]),
                     osp.join(root, 'ade20k_panoptic_val', name + '.png'))
        data = dict(
            images=[image],
            annotations=[
                dict(image_id=0, file_name=name + '.png',
                     segments_info=segments)
            ],
            categories=categories)
        ann_file = 'ade20k_panoptic_val.json'
    else:
        from mmdet.datasets import ADE20KInstanceDataset
        names = ADE20KInstanceDataset.METAINFO['classes']
        instance_cats = [
            dict(id=i + 1, name=n, supercategory='x')
            for i, n in enumerate(names)
        ]
        cat_id = names.index(thing['name']) + 1
        annotations = [
            dict(id=k + 1, image_id=0, category_id=cat_id, iscrowd=0,
                 area=s['area'], bbox=s['bbox'],
                 segmentation=[[s['bbox'][0], 0, s['bbox'][0] + s['bbox'][2],
                                0, s['bbox'][0] + s['bbox'][2], h,
                                s['bbox'][0], h]])
            for k, s in enumerate(segments[:2])
        ]
        data = dict(images=[image], annotations=annotations,
                    categories=instance_cats)
        ann_file = 'ade20k_instance_val.json'
    with open(osp.join(root, ann_file), 'w') as f:
        json.dump(data, f)
    return root


def test_semantic_benchmark_runs_end_to_end(tmp_path):
    """A-847 (16-bit labels) with the GT oracle: mIoU and mask accuracy;
    the model predicts the protocol list, which the dataset checks against
    its vocabulary file."""
    root = write_ade847(str(tmp_path / 'ade847'),
                        vocabulary=Vocabulary.build('ade847'))
    cfg = Config.fromfile(osp.join(
        BENCH_DIR, 'maskclippp_convnext_b_coco-stuff_gt-oracle_ade847.py'))
    cfg = tiny(cfg, str(tmp_path / 'work'), root)
    metrics = Runner.from_cfg(cfg).test()
    assert 0 <= metrics['mIoU'] <= 100
    assert 0 <= metrics['mMaskAcc'] <= 100
    # the labels are classes 0 (wall, a COCO-Stuff class) and 846 (adding
    # machine, not one)
    assert 'mIoU(S)' in metrics and 'mIoU(U)' in metrics


@pytest.mark.parametrize('kind,metric', [('panoptic', 'coco_panoptic/PQ'),
                                         ('instance', 'coco/segm_mAP')])
def test_ade20k_panoptic_and_instance_run_end_to_end(kind, metric, tmp_path):
    root = write_ade_coco(str(tmp_path / 'ade'), kind)
    cfg = Config.fromfile(osp.join(
        BENCH_DIR,
        f'maskclippp_convnext_b_coco-panoptic_m2f-swin-l_ade150-{kind}.py'))
    cfg = tiny(cfg, str(tmp_path / 'work'), root)
    # a generator without weights to download
    cfg.model.mask_generator = dict(
        type='FelzenszwalbMaskGenerator', scale=50.0, min_size=20)
    cfg.model.test_cfg.object_mask_threshold = 0.0
    cfg.test_evaluator.ann_file = osp.join(
        root, osp.basename(cfg.test_evaluator.ann_file))
    if kind == 'panoptic':
        cfg.test_evaluator.seg_prefix = osp.join(root, 'ade20k_panoptic_val')
    cfg.val_evaluator = cfg.test_evaluator
    metrics = Runner.from_cfg(cfg).test()
    assert 0 <= metrics[metric] <= 100
    if kind == 'panoptic':
        assert {f'coco_panoptic/{m}{s}'
                for m in ('PQ', 'SQ', 'RQ')
                for s in ('', '_th', '_st')} <= set(metrics)


def test_ade20k_panoptic_predictions_are_what_mmdet_reads(tmp_path):
    """Without panopticapi: the panoptic config's data and model, one image;
    the prediction follows mmdet's encoding (label + instance * 1000, void
    = number of classes) at the original size."""
    from mmengine.dataset import pseudo_collate

    from mmseg_maskclippp.registry import DATASETS, MODELS
    root = write_ade_coco(str(tmp_path / 'ade'), 'panoptic')
    cfg = Config.fromfile(osp.join(
        BENCH_DIR,
        'maskclippp_convnext_b_coco-panoptic_m2f-swin-l_ade150-panoptic.py'))
    cfg = tiny(cfg, str(tmp_path / 'work'), root)
    cfg.model.mask_generator = dict(
        type='FelzenszwalbMaskGenerator', scale=50.0, min_size=20)
    cfg.model.test_cfg.object_mask_threshold = 0.0
    cfg.model.test_cfg.overlap_threshold = 0.0
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    model = MODELS.build(cfg.model).eval()
    [sample] = model.test_step(pseudo_collate([dataset[0]]))
    panoptic = sample.pred_panoptic_seg.sem_seg
    assert type(sample).__name__ == 'DetDataSample'
    assert tuple(panoptic.shape) == (1, 24, 32)
    labels = panoptic % 1000
    assert int(labels.max()) <= 150 and int(labels.min()) >= 0
    assert (labels < 150).any()  # some segment was kept
    things = set(Vocabulary.build('ade150_panoptic_things').names)
    names = Vocabulary.build('ade150_panoptic').names
    for segment in panoptic.unique().tolist():
        label, instance = segment % 1000, segment // 1000
        if label < 150:
            assert (instance > 0) == (names[label] in things)


@pytest.mark.slow
def test_benchmark_config_runs_with_every_test_entry_point(tmp_path):
    """tools/test.py and ``mim test mmseg`` evaluate a checkpoint with a
    benchmark config (tools/dist_test.sh starts tools/test.py through
    mmengine's pytorch launcher, which needs CUDA devices)."""
    import os
    import subprocess
    import sys

    import torch

    from mmseg_maskclippp.registry import MODELS
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import test as test_tool
    root = write_ade847(str(tmp_path / 'ade847'), num_classes=260)
    cfg = Config.fromfile(osp.join(
        BENCH_DIR, 'maskclippp_convnext_b_coco-stuff_gt-oracle_ade847.py'))
    cfg = tiny(cfg, str(tmp_path / 'work'), root)
    cfg.model.test_vocabulary = osp.join(root, 'ade847_vocabulary.txt')
    cfg.test_dataloader.dataset.test_vocabulary = None
    # the tiny CLIPs are registered in this process only: child processes
    # find them through the tests' sys.path entry
    cfg.custom_imports.imports = ['tiny_models_registered', 'mmseg_maskclippp']
    config = str(tmp_path / 'benchmark.py')
    cfg.dump(config)
    ckpt = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), ckpt)

    metrics = test_tool.main([config, '--checkpoint', ckpt])
    assert 'mIoU' in metrics and 'mMaskAcc' in metrics

    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [osp.join(ROOT, 'tests'), ROOT,
             os.environ.get('PYTHONPATH', '')]))
    out = subprocess.run(
        [osp.join(osp.dirname(sys.executable), 'mim'), 'test', 'mmseg',
         config, '--checkpoint', ckpt],
        capture_output=True, text=True, env=env, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert 'mMaskAcc' in log and 'mIoU(U)' in log
