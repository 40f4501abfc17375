"""Mask generators: mmdet Mask2Former wrapper, offline masks, Felzenszwalb,
GT oracle."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import make_segmentor
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample
from PIL import Image
from pycocotools import mask as mask_utils
from tiny_models import SWIN_T_PANOPTIC, TINY_M2F, tiny_m2f

from mmseg_maskclippp.models.mask_generators import (FelzenszwalbMaskGenerator,
                                                     Mask2FormerGenerator,
                                                     OfflineMaskGenerator,
                                                     save_offline_masks)
from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.vocabulary import Vocabulary


def images_and_samples(sizes, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = [torch.rand(3, h, w, generator=g) * 255 for h, w in sizes]
    samples = [
        SegDataSample(
            metainfo=dict(
                img_path=f'/data/img_{i}.jpg',
                img_shape=(h, w),
                ori_shape=(h, w))) for i, (h, w) in enumerate(sizes)
    ]
    return images, samples


# ----------------------------------------------------------------------
# Mask2Former
@pytest.fixture(scope='module')
def m2f_and_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    gen = tiny_m2f()
    path = str(tmp_path_factory.mktemp('m2f') / 'tiny_m2f.pth')
    torch.save(
        dict(
            state_dict=gen.detector.state_dict(),
            meta=dict(note='random tiny Mask2Former')), path)
    return gen, path


def test_m2f_input_size_is_the_official_short_side_resize():
    """Short side 800, long side truncated and never capped (mmdet's test
    pipeline would cap it at 1333)."""
    from mmseg_maskclippp.models.utils.resize import resize_short_side
    assert resize_short_side((480, 640), 800) == (800, 1066)
    assert resize_short_side((400, 1200), 800) == (800, 2400)
    assert resize_short_side((1200, 400), 800) == (2400, 800)
    assert resize_short_side((50, 50), 64) == (64, 64)


def test_m2f_masks_are_the_sigmoid_at_stride_4_resized(
        m2f_and_checkpoint, monkeypatch):
    """The official generator's masks: short side 800 (here 64) with the
    long side truncated and not capped; the sigmoid of the last layer's
    stride-4 mask logits, resized to the padded input, cropped, resized to
    the image."""
    from mmdet.structures import DetDataSample
    gen, _ = m2f_and_checkpoint
    images, samples = images_and_samples([(50, 160)], seed=2)
    seen = []
    extract_feat = gen.detector.extract_feat
    monkeypatch.setattr(gen.detector, 'extract_feat',
                        lambda x: seen.append(x) or extract_feat(x))
    out = gen(images, samples)[0]
    [batch] = seen
    # 160 * 64 / 50 = 204.8 -> 204 (an mmdet-style cap of 1.5 x 64 = 96
    # would give 30 x 96); padded to mmdet's divisor 32
    assert tuple(batch.shape[-2:]) == (64, 224)
    h, w = 64, 204
    det = DetDataSample(
        metainfo=dict(img_shape=(h, w), batch_input_shape=(64, 224)))
    with torch.no_grad():
        cls, logits = gen.detector.panoptic_head(
            extract_feat(batch), [det])
    stride4 = logits[-1][0]
    assert tuple(stride4.shape) == (10, 16, 56)
    padded = F.interpolate(
        stride4.sigmoid()[None], size=(64, 224), mode='bilinear',
        align_corners=False)[0]
    expected = F.interpolate(
        padded[None, :, :h, :w], size=(50, 160), mode='bilinear',
        align_corners=False)[0]
    torch.testing.assert_close(out.masks, expected)
    torch.testing.assert_close(out.logits, cls[-1][0])
    # mmdet's predict order (upsample the logits, then sigmoid) differs
    late = F.interpolate(
        stride4[None], size=(64, 224), mode='bilinear',
        align_corners=False)[0, :, :h, :w].sigmoid()
    late = F.interpolate(
        late[None], size=(50, 160), mode='bilinear', align_corners=False)[0]
    assert (late - out.masks).abs().max() > 1e-3


def test_m2f_outputs(m2f_and_checkpoint):
    gen, _ = m2f_and_checkpoint
    sizes = [(64, 96), (70, 50)]  # detector inputs (64, 96), (89, 64)
    images, samples = images_and_samples(sizes)
    out = gen(images, samples)
    assert len(out) == 2
    for g, (h, w) in zip(out, sizes):
        assert g.masks.shape == (10, h, w)
        assert g.masks.min() >= 0 and g.masks.max() <= 1
        assert g.masks.std() > 0
        assert g.logits.shape == (10, 134)
        assert torch.isfinite(g.logits).all()
        assert g.labels is None
    # the masks depend on the image
    other = gen([images[0].flip(-1)], samples[:1])[0]
    assert not torch.allclose(other.masks, out[0].masks, atol=1e-3)


def test_m2f_batch_does_not_mix_images(m2f_and_checkpoint):
    """Batched with an image of the same height and smaller width, an
    image needing no padding gets what it gets alone. (Mask2Former
    attends to padding, so a padded image may change a little.)"""
    gen, _ = m2f_and_checkpoint
    images, samples = images_and_samples([(64, 96), (64, 80)], seed=1)
    batched = gen(images, samples)[0]
    alone = gen(images[:1], samples[:1])[0]
    torch.testing.assert_close(batched.logits, alone.logits)
    torch.testing.assert_close(batched.masks, alone.masks)


def test_m2f_crops_padding(m2f_and_checkpoint, monkeypatch):
    """Masks come from the unpadded region of each image only."""
    gen, _ = m2f_and_checkpoint
    sizes = [(40, 60), (70, 50)]  # detector inputs (64, 96), (89, 64)
    images, samples = images_and_samples(sizes)

    def inside_is_one(feats, det_samples):
        # logits at the input resolution, so that resizing keeps edges
        h, w = det_samples[0].batch_input_shape
        logits = torch.full((len(det_samples), 10, h, w), -30.)
        for i, s in enumerate(det_samples):
            logits[i, :, :s.img_shape[0], :s.img_shape[1]] = 30.
        return [torch.zeros(len(det_samples), 10, 134)], [logits]

    monkeypatch.setattr(gen.detector.panoptic_head, 'forward', inside_is_one)
    out = gen(images, samples)
    for g, (h, w) in zip(out, sizes):
        assert g.masks.shape == (10, h, w)
        torch.testing.assert_close(g.masks, torch.ones(10, h, w))


def test_m2f_normalization_follows_mmdet_preprocessor(m2f_and_checkpoint):
    """The wrapper's input equals what mmdet's own DetDataPreprocessor
    makes of the BGR image mmdet's loader would give."""
    from mmdet.structures import DetDataSample
    gen, _ = m2f_and_checkpoint
    images, _ = images_and_samples([(64, 96), (64, 80)])
    images = [img.round() for img in images]
    batch, sizes = gen._batch(images)
    assert sizes == [(64, 96), (64, 80)]  # already at the input size
    ref = gen.detector.data_preprocessor(
        dict(
            inputs=[img.flip(0) for img in images],
            data_samples=[DetDataSample() for _ in images]), False)
    torch.testing.assert_close(batch, ref['inputs'])


def test_m2f_checkpoint_round_trip(m2f_and_checkpoint):
    gen, path = m2f_and_checkpoint
    torch.manual_seed(1)  # another random init, overwritten by the file
    loaded = tiny_m2f(checkpoint=path)
    images, samples = images_and_samples([(48, 64)], seed=3)
    a, b = gen(images, samples)[0], loaded(images, samples)[0]
    assert torch.equal(a.masks, b.masks)
    assert torch.equal(a.logits, b.logits)
    assert TINY_M2F['model']['backbone']['_delete_']  # options not consumed
    assert not any(p.requires_grad for p in loaded.parameters())
    loaded.train()
    assert not loaded.detector.training
    assert not loaded.detector.backbone.training
    before = {k: v.clone() for k, v in loaded.detector.state_dict().items()}
    assert len(before) > 100
    assert loaded.state_dict() == {}  # not part of a segmentor checkpoint
    loaded.init_weights()
    assert all(
        torch.equal(before[k], v)
        for k, v in loaded.detector.state_dict().items())


def test_m2f_checkpoint_errors(m2f_and_checkpoint, tmp_path):
    _, path = m2f_and_checkpoint
    state = torch.load(path)['state_dict']
    state.pop(next(iter(state)))
    partial = str(tmp_path / 'partial.pth')
    torch.save(dict(state_dict=state), partial)
    with pytest.raises(RuntimeError, match='missing keys'):
        tiny_m2f(checkpoint=partial)
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        tiny_m2f(checkpoint=str(tmp_path / 'nothing.pth'))


def test_m2f_vocabulary():
    from mmdet.datasets import CocoPanopticDataset
    gen = tiny_m2f()
    # the built-in protocol list, in mmdet's label order
    # (tests/test_vocabularies.py checks that order)
    assert len(gen.vocabulary) == len(
        CocoPanopticDataset.METAINFO['classes']) == 133
    assert gen.vocabulary == Vocabulary.build('coco_panoptic')
    with pytest.raises(ValueError, match='133 classes.*voc20.*20'):
        tiny_m2f(vocabulary='voc20')


def m2f_segmentor():
    return make_segmentor(
        'test-convnext',
        mask_generator=dict(
            type='Mask2FormerGenerator',
            config=SWIN_T_PANOPTIC,
            checkpoint=None,
            cfg_options=TINY_M2F,
            short_side=64),
        test_vocabulary=['person', 'sky', 'tree'],
        ensemble=dict(gamma=0.5))


def test_m2f_in_segmentor_keeps_its_weights():
    """mmengine's Runner calls init_weights on the whole segmentor and
    loads MaskCLIP++ checkpoints, which hold no generator weights."""
    from mmengine.runner.checkpoint import load_state_dict
    torch.manual_seed(0)
    seg = m2f_segmentor()
    detector = seg.mask_generator.detector
    before = {k: v.clone() for k, v in detector.state_dict().items()}
    seg.init_weights()
    assert all(
        torch.equal(before[k], v) for k, v in detector.state_dict().items())
    seg.train()
    assert not detector.training
    state = seg.state_dict()
    assert any(k.startswith('backbone.') for k in state)
    assert not any(k.startswith('mask_generator.') for k in state)
    torch.manual_seed(1)
    other = m2f_segmentor()
    other.load_state_dict(state, strict=True)
    load_state_dict(other, state, strict=True)
    for k, v in other.state_dict().items():
        assert torch.equal(v, state[k])
    theirs = other.mask_generator.detector.state_dict()
    assert not all(torch.equal(before[k], v) for k, v in theirs.items())
    # end to end: Mask2Former masks classified by CLIP, with Eq. 4
    assert seg.ensemble.matched.tolist() == [True, True, True]
    inputs = torch.rand(1, 3, 64, 64) * 255
    seg.test_cfg['keep_seg_logits'] = True
    result = seg.eval().predict(inputs)[0]
    assert result.seg_logits.data.shape == (3, 64, 64)
    assert torch.isfinite(result.seg_logits.data).all()


@pytest.mark.parametrize('base,queries', [('m2f_swin_t', 100),
                                          ('m2f_swin_l', 200)])
def test_m2f_config_bases_name_mmdet_zoo_models(base, queries):
    """The bases name a shipped mmdet config and its metafile checkpoint."""
    import os.path as osp
    from mmengine.config import Config
    from mmengine.hub import get_config
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    cfg = Config.fromfile(
        osp.join(root, 'configs', '_base_', 'generators', base + '.py'))
    assert set(cfg.keys()) == {'mask_generator'}
    gen = cfg.mask_generator
    assert MODELS.get(gen.type) is Mask2FormerGenerator
    mmdet_cfg = get_config(gen.config, pretrained=True)
    assert mmdet_cfg.model_path == gen.checkpoint
    assert mmdet_cfg.model.panoptic_head.num_queries == queries
    assert mmdet_cfg.model.panoptic_head.num_things_classes + \
        mmdet_cfg.model.panoptic_head.num_stuff_classes == 133


# ----------------------------------------------------------------------
# offline masks
def sample_for(path, h, w, **meta):
    return SegDataSample(
        metainfo=dict(
            img_path=path, img_shape=(h, w), ori_shape=(h, w), **meta))


def run_offline(mask_dir, suffix, image_size=(6, 8), **kwargs):
    gen = MODELS.build(
        dict(
            type='OfflineMaskGenerator',
            mask_dir=str(mask_dir),
            suffix=suffix,
            **kwargs))
    img = torch.zeros(3, *image_size)
    return gen([img], [sample_for('/imgs/a/frame_01.jpg', 6, 8)])[0]


@pytest.fixture
def label_map():
    seg = np.zeros((6, 8), dtype=np.uint8)
    seg[:, 4:] = 7
    seg[2:4, 1:3] = 3
    seg[5, :] = 255
    return seg


def masks_of(seg, values):
    return torch.from_numpy(np.stack([seg == v for v in values])).float()


def test_offline_label_png(tmp_path, label_map):
    Image.fromarray(label_map).save(tmp_path / 'frame_01.png')
    out = run_offline(tmp_path, '.png', ignore_index=255)
    assert out.logits is None
    assert torch.equal(out.masks, masks_of(label_map, [0, 3, 7]))
    # without an ignore value 255 is a mask too; 16-bit and palette PNGs
    out = run_offline(tmp_path, '.png', format='label_png')
    assert torch.equal(out.masks, masks_of(label_map, [0, 3, 7, 255]))
    Image.fromarray(label_map.astype(np.uint16) * 300).save(tmp_path /
                                                            'frame_01_16.png')
    out = run_offline(tmp_path, '_16.png')
    assert torch.equal(out.masks, masks_of(label_map, [0, 3, 7, 255]))
    palette = Image.fromarray(label_map, mode='P')
    palette.putpalette([0, 0, 0, 255, 0, 0] * 128)
    palette.save(tmp_path / 'frame_01_p.png')
    out = run_offline(tmp_path, '_p.png', ignore_index=255)
    assert torch.equal(out.masks, masks_of(label_map, [0, 3, 7]))


def test_offline_panoptic_png(tmp_path, label_map):
    ids = label_map.astype(np.int64) * 1001  # uses R, G and B
    ids[label_map == 255] = 0
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1)
    Image.fromarray(rgb.astype(np.uint8)).save(tmp_path / 'frame_01.png')
    out = run_offline(tmp_path, '.png')  # auto: RGB -> panoptic
    assert torch.equal(out.masks, masks_of(label_map, [3, 7]))
    with pytest.raises(
            ValueError, match='frame_01.jpg.*frame_01.png.*one '
            'channel'):
        run_offline(tmp_path, '.png', format='label_png')


def test_offline_rle_json(tmp_path, label_map):
    binary = masks_of(label_map, [0, 3, 7]).numpy().astype(np.uint8)
    rles = mask_utils.encode(np.asfortranarray(binary.transpose(1, 2, 0)))
    compressed = [
        dict(size=r['size'], counts=r['counts'].decode()) for r in rles
    ]
    # COCO annotations: the RLE under "segmentation"; uncompressed counts
    # (column-major run lengths starting with zeros) for the last one
    column = binary[2].flatten(order='F')
    changes = np.flatnonzero(np.diff(column)) + 1
    runs = np.diff(np.concatenate([[0], changes, [column.size]]))
    entries = [
        dict(segmentation=compressed[0], category_id=1), compressed[1],
        dict(size=[6, 8], counts=[0] * int(column[0]) + runs.tolist())
    ]
    (tmp_path / 'frame_01.json').write_text(json.dumps(entries))
    out = run_offline(tmp_path, '.json')
    assert torch.equal(out.masks, torch.from_numpy(binary).float())
    (tmp_path / 'frame_01.json').write_text('[]')
    assert run_offline(tmp_path, '.json').masks.shape == (0, 6, 8)
    (tmp_path / 'frame_01.json').write_text(
        json.dumps([dict(segmentation=[[0, 0, 1, 1, 2, 0]])]))
    with pytest.raises(ValueError, match='frame_01.json.*polygons'):
        run_offline(tmp_path, '.json')


def test_offline_npy(tmp_path, label_map):
    np.save(tmp_path / 'frame_01.npy', label_map.astype(np.int32))
    out = run_offline(tmp_path, '.npy', ignore_index=255)
    assert torch.equal(out.masks, masks_of(label_map, [0, 3, 7]))
    soft = np.random.default_rng(0).random((4, 6, 8)).astype(np.float32)
    np.save(tmp_path / 'frame_01.npy', soft)
    out = run_offline(tmp_path, '.npy')
    assert torch.equal(out.masks, torch.from_numpy(soft))
    np.save(tmp_path / 'frame_01.npy', soft * 2)
    with pytest.raises(ValueError, match=r'frame_01.npy.*\[0, 1\]'):
        run_offline(tmp_path, '.npy')
    np.save(tmp_path / 'frame_01.npy', soft[0])
    with pytest.raises(ValueError, match='integer label map'):
        run_offline(tmp_path, '.npy')


@pytest.mark.parametrize('fmt,suffix', [('npy', '.npy'), ('rle_json', '.json'),
                                        ('panoptic_png', '.png'),
                                        ('npz', '.npz')])
def test_offline_writer_round_trip(tmp_path, label_map, fmt, suffix):
    masks = masks_of(label_map, [0, 3, 7])
    save_offline_masks(masks, str(tmp_path / f'frame_01{suffix}'), fmt)
    assert torch.equal(run_offline(tmp_path, suffix).masks, masks)


def test_offline_resize_and_flip(tmp_path):
    seg = np.zeros((12, 16), dtype=np.uint8)
    seg[:, 10:] = 1
    Image.fromarray(seg).save(tmp_path / 'frame_01.png')
    gen = OfflineMaskGenerator(str(tmp_path), '.png')
    img = torch.zeros(3, 6, 8)
    out = gen([img], [sample_for('frame_01.jpg', 6, 8)])[0]
    assert out.masks.shape == (2, 6, 8)
    assert torch.equal(out.masks[1, 0],
                       torch.tensor([0., 0., 0., 0., 0., 1., 1., 1.]))
    flipped = gen([img], [
        sample_for(
            'frame_01.jpg', 6, 8, flip=True, flip_direction='horizontal')
    ])[0]
    assert torch.equal(flipped.masks, out.masks.flip(-1))
    with pytest.raises(
            ValueError,
            match=r'frame_01.png.*\(12, 16\).*not a '
            r'rescaling.*\(8, 8\)'):
        gen([torch.zeros(3, 8, 8)], [sample_for('frame_01.jpg', 8, 8)])


def test_offline_errors(tmp_path):
    gen = OfflineMaskGenerator(str(tmp_path), '.png')
    with pytest.raises(
            FileNotFoundError, match='/imgs/a/frame_01.jpg.*frame_01.png'):
        gen([torch.zeros(3, 6, 8)], [sample_for('/imgs/a/frame_01.jpg', 6, 8)])
    (tmp_path / 'frame_01.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match='frame_01.jpg.*frame_01.png'):
        gen([torch.zeros(3, 6, 8)], [sample_for('frame_01.jpg', 6, 8)])
    with pytest.raises(KeyError, match='img_path'):
        gen([torch.zeros(3, 6, 8)], [SegDataSample()])
    with pytest.raises(ValueError, match='format'):
        OfflineMaskGenerator(str(tmp_path), '.png', format='tiff')
    with pytest.raises(ValueError, match='.bin'):
        OfflineMaskGenerator(str(tmp_path), '.bin')


# ----------------------------------------------------------------------
# Felzenszwalb
def test_felzenszwalb_segments_flat_regions():
    img = torch.zeros(3, 32, 48)
    img[0, :, 24:] = 255  # red right half
    img[2, 20:, :24] = 255  # blue bottom-left block
    regions = torch.zeros(3, 32, 48)
    regions[0, :20, :24] = 1  # black, 480 pixels
    regions[1, :, 24:] = 1  # red, 768 pixels
    regions[2, 20:, :24] = 1  # blue, 288 pixels

    def segments(**kwargs):
        gen = FelzenszwalbMaskGenerator(
            scale=100, sigma=0, min_size=20, **kwargs)
        masks = gen([img], [SegDataSample()])[0].masks
        return sorted(masks.tolist())

    assert segments() == sorted(regions.tolist())
    assert segments(max_masks=2) == sorted(regions[:2].tolist())
    with pytest.raises(ValueError, match='max_masks'):
        FelzenszwalbMaskGenerator(max_masks=0)


def test_export_tool_writes_what_the_generator_made(tmp_path, monkeypatch):
    """tools/misc/export_offline_masks.py with the Felzenszwalb base: the
    offline generator reads back exactly the generator's masks."""
    import importlib.util
    import os.path as osp
    import sys
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        'export_offline_masks',
        osp.join(root, 'tools', 'misc', 'export_offline_masks.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rgb = np.zeros((24, 32, 3), dtype=np.uint8)
    rgb[:, 16:, 0] = 255
    rgb[12:, :16, 1] = 255
    (tmp_path / 'images').mkdir()
    Image.fromarray(rgb).save(tmp_path / 'images' / 'toy.png')
    monkeypatch.setattr(sys, 'argv', [
        'export_offline_masks.py',
        osp.join(root, 'configs', '_base_', 'generators', 'felzenszwalb.py'),
        str(tmp_path / 'images'),
        str(tmp_path / 'masks'), '--format', 'rle_json', '--cfg-options',
        'mask_generator.scale=100', 'mask_generator.sigma=0',
        'mask_generator.min_size=10'
    ])
    tool.main()
    image = torch.from_numpy(rgb).permute(2, 0, 1).float()
    sample = sample_for('/elsewhere/toy.jpg', 24, 32)
    direct = FelzenszwalbMaskGenerator(
        scale=100, sigma=0, min_size=10)([image], [sample])[0]
    offline = OfflineMaskGenerator(str(tmp_path / 'masks'),
                                   '.json')([image], [sample])[0]
    assert len(direct.masks) == 3
    assert torch.equal(offline.masks, direct.masks)


# ----------------------------------------------------------------------
# GT oracle
def test_gt_oracle_with_perfect_classifier_scores_full_miou(monkeypatch):
    """Fig. 1a's ideal generator with an ideal classifier reproduces the
    GT exactly (100% mIoU)."""
    torch.manual_seed(0)
    vocab = ['red', 'green', 'blue,azure', 'grey']
    seg = make_segmentor('test-convnext', vocabulary=vocab)
    gt = torch.full((40, 56), 255, dtype=torch.long)
    gt[:, :20] = 2
    gt[:25, 20:] = 0
    gt[25:, 20:] = 3
    gt[:3, :3] = 255
    sample = SegDataSample(
        metainfo=dict(
            img_shape=(40, 56),
            ori_shape=(40, 56),
            img_path='x.jpg',
            padding_size=[0, 0, 0, 0]),
        gt_sem_seg=PixelData(data=gt[None]))
    generated = []
    forward = seg.mask_generator.forward

    def recording(images, samples):
        generated[:] = forward(images, samples)
        return generated

    def perfect(images, masks):
        return [
            torch.nn.functional.one_hot(g.labels, len(vocab)).float() * 50
            for g in generated
        ]

    monkeypatch.setattr(seg.mask_generator, 'forward', recording)
    monkeypatch.setattr(seg, '_classify', perfect)
    result = seg.predict(torch.rand(1, 3, 40, 56) * 255, [sample])[0]
    pred = result.pred_sem_seg.data[0]
    assert torch.equal(pred[gt != 255], gt[gt != 255])
    assert result.pred_mask_labels.gt.tolist() == [0, 2, 3]
    metric = IoUMetric()
    metric.dataset_meta = dict(classes=Vocabulary.build(vocab).names)
    metric.process([], [result.to_dict()])
    assert metric.compute_metrics(metric.results)['mIoU'] == 100.0
