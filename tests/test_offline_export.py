"""Offline exports with class logits (``.npz`` + ``vocabulary.txt``): the
format and its errors, Eq. 4 with them through tools/test.py (both seen-set
cases), and the export tool's round trip."""
import importlib.util
import os.path as osp
import sys

import mmcv
import numpy as np
import pytest
import torch
from conftest import make_segmentor
from data_fixtures import BENCH_DIR, ROOT, tiny, write_ade20k
from mmengine import Config
from mmengine.fileio import load
from tiny_models import SWIN_T_PANOPTIC, TINY_M2F, tiny_m2f

from mmseg_maskclippp.models.mask_generators import OfflineMaskGenerator
from mmseg_maskclippp.models.mask_generators.offline_npz import (
    OfflineExportError, encode_masks, read_offline_npz, save_offline_npz)
from mmseg_maskclippp.models.postprocessing import (GeometricEnsemble,
                                                    instance_inference,
                                                    panoptic_inference)
from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.vocabulary import Vocabulary


def random_masks(rng, q, h, w):
    """Random rectangles, plus edge cases: a mask starting with a 1, an
    empty and a full mask."""
    masks = np.zeros((q, h, w), bool)
    for m in masks[3:]:
        y, x = rng.integers(0, h - 1), rng.integers(0, w - 1)
        m[y:y + rng.integers(1, h), x:x + rng.integers(1, w)] = True
    masks[0, 0, :3] = True
    masks[2] = True
    return masks


def sample(path, h, w):
    from mmseg.structures import SegDataSample
    return SegDataSample(
        metainfo=dict(img_path=path, img_shape=(h, w), ori_shape=(h, w)))


# ----------------------------------------------------------------------
# the format
def test_run_length_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    masks = random_masks(rng, 7, 5, 9)
    logits = rng.normal(size=(7, 4)).astype(np.float32)
    save_offline_npz(str(tmp_path / 'a.npz'), masks, logits)
    read, read_logits = read_offline_npz(str(tmp_path / 'a.npz'), 3)
    assert read.dtype == bool and np.array_equal(read, masks)
    assert np.array_equal(read_logits, logits)
    # soft masks are stored as > 0.5; no masks at all
    save_offline_npz(str(tmp_path / 'b.npz'), masks * 0.5 + 0.3)
    assert np.array_equal(read_offline_npz(str(tmp_path / 'b.npz'))[0], masks)
    save_offline_npz(str(tmp_path / 'c.npz'), np.zeros((0, 5, 9), bool))
    assert read_offline_npz(str(tmp_path / 'c.npz'))[0].shape == (0, 5, 9)
    # the documented layout: row-major runs, starting with a run of 0
    fields = encode_masks(masks[:1])
    assert fields['mask_runs'].tolist() == [0, 3, 42]


VOCAB = ['cat', 'dog,puppy', 'sky']


def export(folder, masks, logits=None, vocabulary=VOCAB, **fields):
    """One image's export written field by field (as a detectron2 user's
    script would), with ``fields`` replacing or adding entries."""
    folder.mkdir(exist_ok=True)
    if vocabulary is not None:
        Vocabulary(vocabulary).to_file(str(folder / 'vocabulary.txt'))
    data = encode_masks(masks)
    if logits is not None:
        data['logits'] = logits
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    np.savez(str(folder / 'frame_01.npz'), **data)
    return str(folder / 'frame_01.npz')


def read_through_generator(folder, size=(6, 8)):
    gen = OfflineMaskGenerator(str(folder), '.npz')
    return gen([torch.zeros(3, *size)],
               [sample('/imgs/frame_01.jpg', *size)])[0]


def test_offline_generator_reads_masks_logits_and_vocabulary(tmp_path):
    rng = np.random.default_rng(1)
    masks = random_masks(rng, 5, 6, 8)
    logits = rng.normal(size=(5, 4)).astype(np.float32)
    export(tmp_path, masks, logits)
    gen = OfflineMaskGenerator(str(tmp_path), '.npz')
    assert gen.vocabulary == Vocabulary(VOCAB)
    out = read_through_generator(tmp_path)
    assert torch.equal(out.masks, torch.from_numpy(masks).float())
    assert torch.equal(out.logits, torch.from_numpy(logits))
    # at half the image size the masks are resized, the logits unchanged
    out = read_through_generator(tmp_path, size=(3, 4))
    assert out.masks.shape == (5, 3, 4)
    # masks only: no vocabulary, no logits
    export(tmp_path / 'plain', masks, vocabulary=None)
    plain = OfflineMaskGenerator(str(tmp_path / 'plain'), '.npz')
    assert plain.vocabulary is None
    assert read_through_generator(tmp_path / 'plain').logits is None
    with pytest.raises(ValueError, match='takes no vocabulary'):
        OfflineMaskGenerator(str(tmp_path), '.json', vocabulary=VOCAB)


def truncate(path):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


@pytest.mark.parametrize(
    'case,field,message',
    [
        ('logits rows', 'logits', r'shape \(5, 4\).*got \(4, 4\)'),
        ('vocabulary length', 'logits', r'3 classes of vocabulary.txt'),
        ('missing logits', 'logits', 'missing, but the folder has'),
        ('logits without vocabulary', 'logits', 'no .*vocabulary.txt'),
        ('integer logits', 'logits', "dtype kind 'f'"),
        ('nan logits', 'logits', 'not all finite'),
        ('size shape', 'mask_size', r'expected \(H, W\)'),
        ('runs sum', 'mask_runs', r'mask 4 sum to 47, not H \* W = 48'),
        ('run counts', 'mask_num_runs', 'sum to the'),
        ('missing masks', 'mask_runs', 'missing'),
        ('unknown field', 'scores', 'unknown field'),
        ('pickled object', 'mask_size', 'cannot be read'),
        ('truncated', None, 'not a readable .npz'),
    ])
def test_malformed_exports_name_the_file_and_field(tmp_path, case, field,
                                                   message):
    rng = np.random.default_rng(2)
    masks = random_masks(rng, 5, 6, 8)
    logits = rng.normal(size=(5, 4)).astype(np.float32)
    runs = encode_masks(masks)['mask_runs'].copy()
    runs[-1] -= 1
    variants = {
        'logits rows': dict(logits=logits[:4]),
        'vocabulary length': dict(logits=logits[:, :3]),
        'missing logits': dict(logits=None),
        'logits without vocabulary': dict(vocabulary=None),
        'integer logits': dict(logits=logits.astype(np.int32)),
        'nan logits': dict(logits=logits * np.nan),
        'size shape': dict(mask_size=np.array([6, 8, 1])),
        'runs sum': dict(mask_runs=runs),
        'run counts': dict(mask_num_runs=np.array([1, 2])),
        'missing masks': dict(mask_runs=None),
        'unknown field': dict(scores=np.zeros(5)),
        'pickled object': dict(mask_size=np.array([6, {}], dtype=object)),
        'truncated': {},
    }[case]
    kwargs = dict(logits=logits)
    kwargs.update(variants)  # None drops a field
    path = export(tmp_path, masks, **kwargs)
    if case == 'truncated':
        truncate(path)
    with pytest.raises(ValueError, match='frame_01.jpg') as info:
        read_through_generator(tmp_path)
    error = info.value.__cause__
    assert isinstance(error, OfflineExportError)
    assert error.path == path and error.field == field
    assert path in str(info.value)
    if field is not None:
        assert f"field '{field}'" in str(info.value)
    assert info.match(message)


# ----------------------------------------------------------------------
# the seen set of Eq. 4
def test_seen_set_limits_the_generator_to_seen_classes():
    """An open-vocabulary generator scores every test class: only the
    classes given as seen mix its probability in."""
    test = Vocabulary(['cat', 'dog', 'sky', 'tree'])
    clip = torch.tensor([[0.1, 0.2, 0.3, 0.4]]).log()
    gen = torch.tensor([[0.4, 0.1, 0.1, 0.2, 0.2]]).log()
    everything = GeometricEnsemble(test, test, 0.5)
    seen = GeometricEnsemble(test, test, 0.5, seen=[True, False, True, False])
    assert everything.matched.all()
    assert seen.matched.tolist() == [True, False, True, False]
    p_gen = torch.tensor([0.5, 0.125, 0.125, 0.25])
    mixed = torch.tensor([0.1, 0.2, 0.3, 0.4])
    mixed[[0, 2]] = (p_gen[[0, 2]] * mixed[[0, 2]]).sqrt()
    expected = torch.cat([mixed / mixed.sum() * 0.8, torch.tensor([0.2])])
    torch.testing.assert_close(seen(clip, gen)[0], expected)
    assert not torch.allclose(everything(clip, gen)[0], expected)
    with pytest.raises(ValueError, match='seen has 2 entries'):
        GeometricEnsemble(test, test, 0.5, seen=[True, False])


def test_segmentor_builds_the_seen_set_from_the_config():
    vocab = ['red', 'green', 'blue,azure', 'grey']
    seg = make_segmentor(
        'test-convnext',
        vocabulary=vocab,
        mask_generator=dict(
            type='OfflineMaskGenerator',
            mask_dir='unused',
            suffix='.npz',
            vocabulary=vocab),
        ensemble=dict(gamma=0.3, seen_vocabulary=['azure', 'grey,gray']))
    assert seg.ensemble.matched.tolist() == [False, False, True, True]
    seg.set_vocabulary(['grey', 'teal'])
    assert seg.ensemble.matched.tolist() == [True, False]
    with pytest.raises(ValueError, match=r"unknown keys \['alpha'\]"):
        make_segmentor('test-convnext', ensemble=dict(alpha=0.6))


# ----------------------------------------------------------------------
# Eq. 4 through tools/test.py against a hand computation
def unique_classes(vocab):
    """Indices of test classes none of whose synonyms another class has."""
    owners = {}
    for i, synonyms in enumerate(vocab.classes):
        for s in synonyms:
            owners.setdefault(s, set()).add(i)
    return [
        i for i, synonyms in enumerate(vocab.classes)
        if all(owners[s] == {i} for s in synonyms)
    ]


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize('kind', ['closed', 'open'])
def test_eq4_with_an_export_through_tools_test(tmp_path, kind):
    """A synthetic export of random masks and logits, through tools/test.py:
    semantic scores, panoptic map and instances are those of Eq. 4 computed
    by hand from the file's arrays and CLIP's mask logits.

    closed: the export's vocabulary is a few classes partly overlapping the
    test vocabulary (a synonym match, two export classes on one test class,
    one class outside it); the seen set is what it matches.
    open: the export scores every test class; the seen set is explicit.
    """
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import test as test_tool
    gamma, h, w, q = 0.4, 48, 64, 6
    root = write_ade20k(str(tmp_path / 'ade'), num=2, size=(h, w))
    cfg = Config.fromfile(
        osp.join(BENCH_DIR,
                 'maskclippp_convnext_b_coco-stuff_maft-b-ens_ade150.py'))
    cfg = tiny(cfg, str(tmp_path / 'work'), root)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'ResizeShortestEdge':
            step.update(scale=h, max_size=w)  # the masks' size: no resize
    test_vocab = Vocabulary.build(cfg.model.test_vocabulary)
    a, b, c, d = unique_classes(test_vocab)[3:7]
    if kind == 'closed':
        name_a = test_vocab.classes[a][-1]  # matched through a synonym
        export_vocab = Vocabulary([(name_a, ), ('export-only class', ),
                                   ('export ' + name_a, name_a),
                                   test_vocab.classes[b]])
        # export class -> test class (None: not a test class)
        to_test = [a, None, a, b]
        seen = [a, b]
        cfg.model.ensemble = dict(gamma=gamma)
    else:
        export_vocab = test_vocab
        to_test = list(range(len(test_vocab)))
        seen = [c, d]
        cfg.model.ensemble = dict(
            gamma=gamma,
            seen_vocabulary=[test_vocab.classes[c][-1], test_vocab.names[d],
                             'not a test class'])
    mask_dir = tmp_path / 'export'
    mask_dir.mkdir()
    export_vocab.to_file(str(mask_dir / 'vocabulary.txt'))
    rng = np.random.default_rng(3)
    images = sorted(osp.join(root, 'images/validation', f)
                    for f in ('ADE_val_00000000.jpg', 'ADE_val_00000001.jpg'))
    exported = {}
    for path in images:
        masks = random_masks(rng, q, h, w)
        logits = rng.normal(0, 2, (q, len(export_vocab) + 1))
        # make the seen classes likely for the generator
        for i, t in enumerate(to_test):
            if t in seen:
                logits[:, i] += 3
        logits = logits.astype(np.float32)
        stem = osp.splitext(osp.basename(path))[0]
        save_offline_npz(str(mask_dir / f'{stem}.npz'), masks, logits)
        exported[path] = (masks, logits)
    cfg.model.mask_generator.mask_dir = str(mask_dir)
    cfg.model.test_cfg.update(
        tasks=('semantic', 'panoptic', 'instance'),
        object_mask_threshold=0.0,
        overlap_threshold=0.5,
        keep_seg_logits=True)
    cfg.custom_imports.imports = ['tiny_models_registered', 'mmseg_maskclippp']
    config = str(tmp_path / 'config.py')
    cfg.dump(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    ckpt = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = str(tmp_path / 'predictions.pkl')
    metrics = test_tool.main([config, '--checkpoint', ckpt, '--out', out])
    assert 'mIoU' in metrics
    results = {r['img_path']: r for r in load(out)}
    assert sorted(results) == images

    k = len(test_vocab)
    share = np.zeros((len(export_vocab), k))
    for i, t in enumerate(to_test):
        if t is not None:
            share[i, t] = 1.0
    for path, (masks, gen_logits) in exported.items():
        rgb = mmcv.imread(path, channel_order='rgb')
        image = torch.from_numpy(rgb).permute(2, 0, 1).float()[None]
        soft = torch.from_numpy(masks).float()
        clip = model.classify_masks(image, [soft])[0].double().numpy()
        # Eq. 4 by hand
        p_clip = softmax(clip)
        p_gen_all = softmax(gen_logits.astype(np.float64))
        void = p_gen_all[:, -1:]
        p_gen = p_gen_all[:, :-1] / p_gen_all[:, :-1].sum(1, keepdims=True)
        p_gen = p_gen @ share
        mixed = p_clip.copy()
        mixed[:, seen] = p_gen[:, seen]**gamma * p_clip[:, seen]**(1 - gamma)
        mixed /= mixed.sum(1, keepdims=True)
        scores = np.concatenate([mixed * (1 - void), void], 1)
        semantic = np.einsum('qk,qhw->khw', scores[:, :k], masks)

        result = results[path]
        np.testing.assert_allclose(
            result['seg_logits']['data'].numpy(), semantic, rtol=1e-4,
            atol=1e-6)
        assert np.array_equal(result['pred_sem_seg']['data'][0].numpy(),
                              semantic.argmax(0))
        scores_t = torch.from_numpy(scores).float()
        is_thing = torch.ones(k, dtype=torch.bool)
        panoptic = panoptic_inference(scores_t, soft, k, is_thing, 0.0, 0.5)
        assert torch.equal(result['pred_panoptic_seg']['sem_seg'][0],
                           panoptic)
        assert (panoptic != k).any()  # some segment was kept
        instances = instance_inference(scores_t, soft, k, is_thing, 100)
        got = result['pred_instances']
        assert torch.equal(got['labels'], instances.labels)
        assert torch.equal(got['masks'], instances.masks)
        torch.testing.assert_close(got['scores'], instances.scores)
        # not vacuous: the generator moved the scores, and mixing every
        # class an open export names would give others
        assert not np.allclose(p_clip, mixed, atol=1e-3)
        if kind == 'open':
            everywhere = p_gen**gamma * p_clip**(1 - gamma)
            everywhere /= everywhere.sum(1, keepdims=True)
            assert not np.allclose(everywhere, mixed, atol=1e-3)


# ----------------------------------------------------------------------
# the export tool
def load_tool():
    spec = importlib.util.spec_from_file_location(
        'export_offline_masks',
        osp.join(ROOT, 'tools', 'misc', 'export_offline_masks.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_mask2former_export_round_trips_bit_exactly(tmp_path, monkeypatch):
    """tools/misc/export_offline_masks.py on a (tiny, random) COCO
    Mask2Former: reading the export back gives the generator's masks
    (> 0.5), its exact logits and its vocabulary."""
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'm2f.pth')
    torch.save(dict(state_dict=tiny_m2f().detector.state_dict()), ckpt)
    gen_cfg = dict(
        type='Mask2FormerGenerator',
        config=SWIN_T_PANOPTIC,
        checkpoint=ckpt,
        cfg_options=TINY_M2F,
        short_side=64)
    config = str(tmp_path / 'm2f.py')
    Config(dict(mask_generator=gen_cfg)).dump(config)
    rng = np.random.default_rng(4)
    (tmp_path / 'images').mkdir()
    for name, (h, w) in (('a', (40, 60)), ('b', (70, 50))):
        mmcv.imwrite(rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
                     str(tmp_path / 'images' / f'{name}.png'))
    monkeypatch.setattr(sys, 'argv', [
        'export_offline_masks.py', config,
        str(tmp_path / 'images'),
        str(tmp_path / 'export')
    ])
    load_tool().main()

    direct = MODELS.build(gen_cfg).eval()
    offline = OfflineMaskGenerator(str(tmp_path / 'export'), '.npz')
    assert offline.vocabulary == direct.vocabulary
    for name in ('a', 'b'):
        path = str(tmp_path / 'images' / f'{name}.png')
        rgb = mmcv.imread(path, channel_order='rgb')
        image = torch.from_numpy(rgb).permute(2, 0, 1).float()
        s = sample(path, *rgb.shape[:2])
        with torch.no_grad():
            want = direct([image], [s])[0]
        got = offline([image], [s])[0]
        assert torch.equal(got.masks, (want.masks > 0.5).float())
        assert torch.equal(got.logits, want.logits)
        assert got.masks.shape == want.masks.shape


def test_export_refuses_a_stale_vocabulary(tmp_path, monkeypatch):
    """A generator without logits into a folder that has a vocabulary.txt:
    the offline generator would expect logits, so the tool stops."""
    (tmp_path / 'images').mkdir()
    mmcv.imwrite(np.zeros((8, 8, 3), np.uint8),
                 str(tmp_path / 'images' / 'a.png'))
    (tmp_path / 'export').mkdir()
    Vocabulary(VOCAB).to_file(str(tmp_path / 'export' / 'vocabulary.txt'))
    monkeypatch.setattr(sys, 'argv', [
        'export_offline_masks.py',
        osp.join(ROOT, 'configs', '_base_', 'generators', 'felzenszwalb.py'),
        str(tmp_path / 'images'),
        str(tmp_path / 'export')
    ])
    with pytest.raises(FileExistsError, match='vocabulary.txt'):
        load_tool().main()
