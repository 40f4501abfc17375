"""The dataset converters on small fixtures in the raw releases' formats."""
import os
import os.path as osp
import pickle
import sys

import mmcv
import numpy as np
import pytest
from scipy.io import savemat

from mmseg_maskclippp.vocabulary import Vocabulary

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))

import ade20k_847  # noqa: E402
import pascal_context_459  # noqa: E402


def ade_rgb(values):
    """ADE20K's *_seg.png encoding of class values: R = v // 256 * 10,
    G = v % 256 (B holds instances)."""
    values = np.asarray(values)
    rgb = np.stack([values // 256 * 10, values % 256, values % 7 * 30], -1)
    return rgb.astype(np.uint8)


@pytest.fixture
def ade_release(tmp_path):
    root = tmp_path / 'ADE20K_2021_17_01'
    objectnames = [f'thing {i}' for i in range(300)]
    objectnames[1] = 'person, individual, someone'  # value 2
    objectnames[259] = 'person, soul'  # value 260: same first synonym
    objectnames[4] = 'train only'  # value 5
    objectnames[6] = 'val only'  # value 7
    root.mkdir()
    with open(root / 'index_ade20k.pkl', 'wb') as f:
        pickle.dump(dict(objectnames=objectnames, filename=[]), f)
    maps = {
        'training/cultural/apse/ADE_train_00000001':
        [[0, 2, 260], [5, 5, 2]],
        'validation/urban/street/ADE_val_00000001': [[7, 260, 2], [0, 0, 2]],
        'validation/urban/street/ADE_val_00000002': [[2, 2, 2], [1, 1, 1]],
    }
    for name, values in maps.items():
        path = str(root / 'images/ADE' / name)
        mmcv.imwrite(
            np.ascontiguousarray(ade_rgb(values)[..., ::-1]),
            path + '_seg.png')
        mmcv.imwrite(np.zeros((2, 3, 3), np.uint8), path + '.jpg')
    return str(root), maps


def test_ade20k_847_converter(ade_release):
    root, maps = ade_release
    with pytest.warns(UserWarning, match='2 classes found'):
        ade20k_847.main([root, '--splits', 'validation', 'training',
                         '--class-order', 'objectnames'])
    # classes present in both splits: values 2 and 260 (1 is val only)
    vocab = Vocabulary.from_file(osp.join(root, 'ade847_vocabulary.txt'))
    assert vocab.classes == (('person', 'individual', 'someone'),
                             ('soul', 'person'))
    lut = {2: 0, 260: 1}
    for name, values in maps.items():
        out = mmcv.imread(
            osp.join(root, 'annotations_847', name + '.png'),
            flag='unchanged')
        expected = np.vectorize(lambda v: lut.get(v, 65535))(values)
        assert out.dtype == np.uint16
        np.testing.assert_array_equal(out, expected)


def test_ade20k_847_converter_needs_the_release(tmp_path):
    with pytest.raises(FileNotFoundError, match='index_ade20k.pkl'):
        ade20k_847.main([str(tmp_path)])


def test_ade20k_847_converter_puts_labels_in_the_protocol_order(tmp_path):
    """The release numbers classes by objectnames index, the benchmark by
    frequency: the converter assigns release classes to the built-in
    protocol list by their synonyms, and by shared words where no synonym
    is shared (``house`` vs ``house exterior``, ``fan`` vs ``ceiling fan``,
    as in ADE20K_2021_17_01)."""
    root = str(tmp_path / 'ADE20K_2021_17_01')
    protocol = Vocabulary.build('ade847')
    positions = np.random.default_rng(0).permutation(900)[:847]
    objectnames = [f'thing {i}' for i in range(900)]
    for label, position in enumerate(positions):
        objectnames[position] = ', '.join(reversed(protocol.classes[label]))
    house = protocol.names.index('house exterior')
    fan = protocol.names.index('ceiling fan')
    objectnames[positions[house]] = 'house'
    objectnames[positions[fan]] = 'fan'
    os.makedirs(root)
    with open(osp.join(root, 'index_ade20k.pkl'), 'wb') as f:
        pickle.dump(dict(objectnames=objectnames, filename=[]), f)
    values = np.zeros((30, 30), np.int64)  # class value = position + 1
    values.flat[:847] = positions + 1
    for split in ('training', 'validation'):
        path = osp.join(root, 'images/ADE', split, 'x', 'ADE_all_classes')
        mmcv.imwrite(np.ascontiguousarray(ade_rgb(values)[..., ::-1]),
                     path + '_seg.png')
    with pytest.warns(UserWarning, match="2 of 847 .* 'house' / "
                      "'house exterior', .* 'fan' / 'ceiling fan'"):
        ade20k_847.main([root])
    vocab = Vocabulary.from_file(osp.join(root, 'ade847_vocabulary.txt'))
    assert len(vocab) == 847
    assert (vocab.classes[house], vocab.classes[fan]) == (('house', ),
                                                          ('fan', ))
    for label, synonyms in enumerate(protocol.classes):
        if label not in (house, fan):
            assert set(synonyms) <= set(vocab.classes[label]), label
    out = mmcv.imread(
        osp.join(root, 'annotations_847/validation/x/ADE_all_classes.png'),
        flag='unchanged')
    np.testing.assert_array_equal(out.flat[:847], np.arange(847))
    assert (out.flat[847:] == 65535).all()


def test_ade20k_847_protocol_order_needs_847_classes(ade_release):
    root, _ = ade_release
    with pytest.raises(ValueError, match="2 classes present in both splits, "
                       "the 'ade847' protocol list has 847"):
        ade20k_847.main([root])


@pytest.fixture
def context_release(tmp_path):
    release = tmp_path / 'release'
    (release / 'trainval').mkdir(parents=True)
    (release / 'labels.txt').write_text(
        ''.join(f'{i}: name {i}\n' for i in range(1, 460)))
    maps = {
        '2008_000001': np.array([[0, 1, 459], [300, 0, 2]], np.uint16),
        '2008_000002': np.array([[256, 257, 0]], np.uint16),
    }
    for name, labels in maps.items():
        savemat(str(release / 'trainval' / (name + '.mat')),
                dict(LabelMap=labels))
    return str(release), maps


def test_pascal_context_459_converter(context_release, tmp_path):
    release, maps = context_release
    voc = str(tmp_path / 'VOC2010')
    pascal_context_459.main([voc, release])
    vocab = Vocabulary.from_file(osp.join(voc, 'pc459_vocabulary.txt'))
    assert len(vocab) == 459 and vocab.names[0] == 'name 1'
    for name, labels in maps.items():
        out = mmcv.imread(
            osp.join(voc, 'SegmentationClassContext459', name + '.png'),
            flag='unchanged')
        expected = np.where(labels == 0, 65535, labels.astype(int) - 1)
        assert out.dtype == np.uint16
        np.testing.assert_array_equal(out, expected)


def test_pascal_context_459_converter_checks_its_inputs(
        context_release, tmp_path):
    release, _ = context_release
    savemat(osp.join(release, 'trainval', 'bad.mat'),
            dict(LabelMap=np.array([[460]], np.uint16)))
    with pytest.raises(ValueError, match='bad.mat'):
        pascal_context_459.main([str(tmp_path / 'VOC2010'), release])
    with open(osp.join(release, 'labels.txt'), 'a') as f:
        f.write('7: duplicate\n')
    with pytest.raises(ValueError, match='out of order'):
        pascal_context_459.main([str(tmp_path / 'VOC2010'), release])
