"""The benchmark datasets on fixtures in their on-disk layouts: classes,
ignore index, label values and dtype."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from data_fixtures import wide_label_map, write_ade847, write_vocabulary
from PIL import Image

from mmseg_maskclippp.datasets import (ADE20K847Dataset,
                                       PascalContext459Dataset,
                                       PascalVOC20Dataset)
from mmseg_maskclippp.vocabulary import Vocabulary

PIPELINE_16 = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadUInt16Annotations'),
    dict(type='PackSegInputs')
]


def write_pc459(root, num_classes=459, num=1):
    """VOC2010 layout with the PC-459 converter's outputs."""
    write_vocabulary(osp.join(root, 'pc459_vocabulary.txt'), num_classes)
    names = [f'2008_{i:06d}' for i in range(num)]
    for i, name in enumerate(names):
        mmcv.imwrite(
            np.random.default_rng(i).integers(0, 256, (24, 32, 3), np.uint8),
            osp.join(root, 'JPEGImages', name + '.jpg'))
        mmcv.imwrite(wide_label_map(num_classes),
                     osp.join(root, 'SegmentationClassContext459',
                              name + '.png'))
    split = osp.join(root, 'ImageSets/SegmentationContext/val.txt')
    os.makedirs(osp.dirname(split), exist_ok=True)
    with open(split, 'w') as f:
        f.write('\n'.join(names) + '\n')
    return root


def voc_label_map(h=24, w=32):
    """VOC's encoding: 0 background, 1..20 classes, 255 boundaries."""
    seg = np.zeros((h, w), np.uint8)
    seg[:, 8:16] = 1
    seg[:, 16:24] = 20
    seg[:, 24:] = 255
    return seg


def write_voc2012(root, num=1):
    """VOC 2012 release layout, palette PNG label maps."""
    names = [f'2007_{i:06d}' for i in range(num)]
    for i, name in enumerate(names):
        mmcv.imwrite(
            np.random.default_rng(i).integers(0, 256, (24, 32, 3), np.uint8),
            osp.join(root, 'JPEGImages', name + '.jpg'))
        png = Image.fromarray(voc_label_map(), mode='P')
        png.putpalette(list(np.random.default_rng(0).integers(
            0, 256, 768, np.uint8)))
        os.makedirs(osp.join(root, 'SegmentationClass'), exist_ok=True)
        png.save(osp.join(root, 'SegmentationClass', name + '.png'))
    split = osp.join(root, 'ImageSets/Segmentation/val.txt')
    os.makedirs(osp.dirname(split), exist_ok=True)
    with open(split, 'w') as f:
        f.write('\n'.join(names) + '\n')
    return root


def loaded_label(dataset):
    seg = dataset[0]['data_samples'].gt_sem_seg.data
    return seg[0].numpy(), seg.dtype


def test_ade847_keeps_16_bit_labels(tmp_path):
    root = write_ade847(str(tmp_path))
    dataset = ADE20K847Dataset(
        data_root=root,
        data_prefix=dict(
            img_path='images/ADE/validation',
            seg_map_path='annotations_847/validation'),
        pipeline=PIPELINE_16)
    assert len(dataset) == 1
    assert dataset.metainfo['classes'][:2] == ('class 0', 'class 1')
    assert len(dataset.metainfo['classes']) == 300
    assert dataset.ignore_index == 65535
    assert not dataset.reduce_zero_label
    label, dtype = loaded_label(dataset)
    assert str(dtype) == 'torch.int64'
    np.testing.assert_array_equal(label, wide_label_map(300))


def test_pc459_reads_classes_from_its_vocabulary(tmp_path):
    root = write_pc459(str(tmp_path))
    dataset = PascalContext459Dataset(
        data_root=root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassContext459'),
        ann_file='ImageSets/SegmentationContext/val.txt',
        pipeline=PIPELINE_16)
    assert len(dataset.metainfo['classes']) == 459
    assert dataset.ignore_index == 65535
    label, _ = loaded_label(dataset)
    np.testing.assert_array_equal(label, wide_label_map(459))


def test_vocabulary_datasets_refuse_bad_setups(tmp_path):
    root = write_ade847(str(tmp_path))
    kwargs = dict(
        data_root=root,
        data_prefix=dict(
            img_path='images/ADE/validation',
            seg_map_path='annotations_847/validation'))
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        ADE20K847Dataset(vocabulary_file='missing.txt', **kwargs)
    with pytest.raises(ValueError, match='reduce_zero_label'):
        ADE20K847Dataset(reduce_zero_label=True, **kwargs)
    with pytest.raises(ValueError, match='class subsets'):
        ADE20K847Dataset(metainfo=dict(classes=('class 0', )), **kwargs)


def test_uint16_loader_refuses_8_bit_maps(tmp_path):
    from mmseg_maskclippp.datasets.transforms import LoadUInt16Annotations
    path = str(tmp_path / 'seg.png')
    mmcv.imwrite(np.zeros((4, 4), np.uint8), path)
    with pytest.raises(ValueError, match='16-bit'):
        LoadUInt16Annotations()(
            dict(seg_map_path=path, seg_fields=[], reduce_zero_label=False))


def test_pas20_drops_background(tmp_path):
    root = write_voc2012(str(tmp_path))
    dataset = PascalVOC20Dataset(
        data_root=root,
        data_prefix=dict(img_path='JPEGImages',
                         seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ])
    classes = dataset.metainfo['classes']
    assert len(classes) == 20 and classes[0] == 'aeroplane'
    assert classes == tuple(Vocabulary.build('voc20').names)
    assert dataset.ignore_index == 255 and dataset.reduce_zero_label
    label, dtype = loaded_label(dataset)
    assert str(dtype) == 'torch.int64'
    expected = voc_label_map().astype(np.int64)
    expected = np.where((expected == 0) | (expected == 255), 255,
                        expected - 1)
    np.testing.assert_array_equal(label, expected)
    with pytest.raises(ValueError, match='reduce_zero_label'):
        PascalVOC20Dataset(
            data_root=root, ann_file='ImageSets/Segmentation/val.txt',
            reduce_zero_label=False)


def test_label_order_is_checked_against_the_test_vocabulary(tmp_path):
    """The benchmark configs predict the protocol list ('ade847', 'pc459')
    over label maps numbered by the converter's vocabulary file: a file in
    another order is refused, naming the first differing label; a few
    renamed classes only warn."""
    protocol = Vocabulary.build('ade847')
    root = write_ade847(str(tmp_path), vocabulary=protocol)
    path = osp.join(root, 'ade847_vocabulary.txt')
    kwargs = dict(
        data_root=root,
        data_prefix=dict(
            img_path='images/ADE/validation',
            seg_map_path='annotations_847/validation'))
    dataset = ADE20K847Dataset(test_vocabulary='ade847', **kwargs)
    assert dataset.metainfo['classes'] == tuple(protocol.names)
    # other display names are fine when a synonym is shared (in any case)
    Vocabulary([(f'release name {i}', c[-1].upper())
                for i, c in enumerate(protocol.classes)]).to_file(path)
    ADE20K847Dataset(test_vocabulary='ade847', **kwargs)
    # another order (here: wall and building swapped, as in the release's
    # objectnames order): refused, naming the first differing label
    swapped = list(protocol.classes)
    swapped[:2] = swapped[1::-1]
    Vocabulary(swapped[:2] + [
        swapped[i] for i in np.random.default_rng(0).permutation(
            range(2, 847))
    ]).to_file(path)
    with pytest.raises(ValueError, match="label 0: 'building,.*' vs "
                       "'wall,.*not in the order of the test vocabulary"):
        ADE20K847Dataset(test_vocabulary='ade847', **kwargs)
    # three classes renamed: a warning naming them
    renamed = [list(c) for c in protocol.classes]
    for i in (5, 61, 700):
        renamed[i] = [f'renamed {i}']
    Vocabulary(renamed).to_file(path)
    with pytest.warns(UserWarning, match="3 of 847 .*5 'renamed 5' / "
                      "'floor', 61 .*700 "):
        ADE20K847Dataset(test_vocabulary='ade847', **kwargs)
    write_vocabulary(path, 300)
    with pytest.raises(ValueError, match='300 classes .* has 847'):
        ADE20K847Dataset(test_vocabulary='ade847', **kwargs)
