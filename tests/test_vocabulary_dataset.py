"""``VocabularySegDataset``: your own data, 8-bit or 16-bit label maps,
classes from a vocabulary file next to the data."""
import mmcv
import numpy as np
import pytest

from mmseg_maskclippp.registry import DATASETS
from mmseg_maskclippp.vocabulary import Vocabulary


def write_split(root, label_map, classes, vocabulary='classes.txt'):
    """One image and its label map under ``img/`` and ``ann/``."""
    Vocabulary(classes).to_file(str(root / vocabulary))
    h, w = label_map.shape
    mmcv.imwrite(np.zeros((h, w, 3), np.uint8), str(root / 'img/a.png'))
    mmcv.imwrite(label_map, str(root / 'ann/a.png'))


def build(root, loader, **kwargs):
    cfg = dict(
        type='VocabularySegDataset',
        data_root=str(root),
        vocabulary_file='classes.txt',
        img_suffix='.png',
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type=loader),
            dict(type='PackSegInputs')
        ])
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def loaded_label(dataset):
    return dataset[0]['data_samples'].gt_sem_seg.data[0].numpy()


def test_8_bit_maps_ignore_255_by_default(tmp_path):
    seg = np.array([[0, 1, 2, 255]], np.uint8).repeat(4, 0)
    write_split(tmp_path, seg, ['cat,kitten', 'dog', 'grass'])
    dataset = build(tmp_path, 'LoadAnnotations', label_bits=8)
    assert dataset.metainfo['classes'] == ('cat', 'dog', 'grass')
    assert dataset.ignore_index == 255
    np.testing.assert_array_equal(loaded_label(dataset), seg)


def test_16_bit_maps_keep_labels_above_255(tmp_path):
    classes = [f'class {i}' for i in range(300)]
    seg = np.array([[0, 299, 65535, 7]], np.uint16).repeat(4, 0)
    write_split(tmp_path, seg, classes)
    dataset = build(tmp_path, 'LoadUInt16Annotations', label_bits=16)
    assert len(dataset.metainfo['classes']) == 300
    assert dataset.ignore_index == 65535
    np.testing.assert_array_equal(loaded_label(dataset), seg)


def test_ignore_index_is_configurable(tmp_path):
    seg = np.array([[0, 1, 0, 1]], np.uint8).repeat(4, 0)
    write_split(tmp_path, seg, ['cat', 'dog'])
    dataset = build(tmp_path, 'LoadAnnotations', label_bits=8,
                    ignore_index=200)
    assert dataset.ignore_index == 200
    with pytest.raises(ValueError, match=r"ignore_index 1 is the label of "
                       r"class 'dog' in .*classes.txt"):
        build(tmp_path, 'LoadAnnotations', label_bits=8, ignore_index=1)
    with pytest.raises(ValueError, match=r'ignore_index 300 does not fit in '
                       r'8-bit label maps \(0..255\)'):
        build(tmp_path, 'LoadAnnotations', label_bits=8, ignore_index=300)


def test_bad_setups_name_the_file_and_the_fix(tmp_path):
    seg = np.zeros((4, 4), np.uint8)
    write_split(tmp_path, seg, ['cat'])
    with pytest.raises(FileNotFoundError,
                       match=r'vocabulary file .*seen.txt not found; write '
                       r'one line .* docs/own_dataset.md'):
        build(tmp_path, 'LoadAnnotations', label_bits=8,
              vocabulary_file='seen.txt')
    with pytest.raises(ValueError, match='label_bits must be 8 or 16, got '
                       '12'):
        build(tmp_path, 'LoadAnnotations', label_bits=12)


def test_toy_world_dataset_is_the_8_bit_case(tmp_path):
    from mmseg_maskclippp.toy_world import ToyWorldDataset
    seg = np.array([[0, 1, 255, 1]], np.uint8).repeat(4, 0)
    write_split(tmp_path, seg, ['red stripes', 'blue dots'], 'seen.txt')
    dataset = ToyWorldDataset(
        vocabulary='seen.txt', data_root=str(tmp_path),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')])
    assert isinstance(dataset, DATASETS.get('VocabularySegDataset'))
    assert dataset.label_bits == 8 and dataset.ignore_index == 255
    np.testing.assert_array_equal(loaded_label(dataset), seg)
    with pytest.raises(FileNotFoundError, match='tools/main_job.py'):
        ToyWorldDataset(vocabulary='all.txt', data_root=str(tmp_path))
