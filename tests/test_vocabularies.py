"""The built-in vocabularies: the benchmark-protocol class lists, in the
label order of each dataset, and the seen / unseen split they give."""
import ast
import fnmatch
import importlib.util
import os
import os.path as osp
import re

import pytest
from conftest import make_segmentor

from mmseg_maskclippp.evaluation.metrics.seen_split import seen_classes
from mmseg_maskclippp.vocabulary import BUILTIN_DIR, Vocabulary

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_generator():
    path = osp.join(ROOT, 'tools', 'misc', 'generate_vocabularies.py')
    spec = importlib.util.spec_from_file_location('generate_vocabularies',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_vocabularies_are_the_generator_output(tmp_path):
    """One source of truth: tools/misc/benchmark_vocabularies."""
    load_generator().main(['--out', str(tmp_path)])
    names = sorted(Vocabulary.builtin_names())
    assert names == sorted(p.name[:-4] for p in tmp_path.glob('*.txt'))
    for name in names:
        with open(osp.join(BUILTIN_DIR, name + '.txt'), 'rb') as f:
            shipped = f.read()
        assert shipped == (tmp_path / (name + '.txt')).read_bytes(), \
            f'{name}.txt differs: run tools/misc/generate_vocabularies.py'


@pytest.mark.parametrize('name, classes, synonyms', [
    ('coco_stuff', 171, 328), ('coco_panoptic', 133, 254),
    ('ade150', 150, 402), ('ade150_panoptic', 150, 402),
    ('ade150_panoptic_things', 100, 291), ('ade847', 847, 1341),
    ('pc59', 59, 160), ('pc459', 459, 559), ('voc20', 20, 79)
])
def test_builtin_sizes_are_the_protocol_lists(name, classes, synonyms):
    """The protocol's counts (fact sheet §8), less one ``kitchen range``
    given twice in its A-150 / A-847 class and the VOC background."""
    vocab = Vocabulary.build(name)
    assert (len(vocab), vocab.num_synonyms_total) == (classes, synonyms)
    assert not any('invalid_class_id' in s for s in vocab.synonyms)


# ---------------------------------------------------------------------------
# label order
def plain(name):
    """``'wall-other-merged'`` -> ``'wall'``, ``'sofa, couch'`` ->
    ``'sofa'``: a dataset class name as the protocol spells it."""
    name = re.sub(r'(-merged|-other|-stuff)+$', '', name.split(',')[0])
    return name.strip().replace('-', ' ')


def renamed(builtin, dataset_classes):
    """``{label: (dataset's name, built-in name)}`` of the classes whose
    synonyms do not include the dataset's own name."""
    vocab = Vocabulary.build(builtin)
    assert len(vocab) == len(dataset_classes)
    return {
        i: (plain(name), synonyms[0])
        for i, (name, synonyms) in enumerate(
            zip(dataset_classes, vocab.classes))
        if plain(name) not in synonyms
    }


ADE150_RENAMED = {
    25: ('house', 'house exterior'), 40: ('base', 'pedestal'),
    63: ('blind', 'window screen'), 72: ('palm', 'palm tree'),
    82: ('light', 'light bulb'), 125: ('pot', 'plant pots'),
    130: ('screen', 'projection screen'), 133: ('hood', 'exhaust hood'),
    139: ('fan', 'ceiling fan'), 147: ('glass', 'cup')
}
# mmdet's panoptic order: things (100) first
ADE150_THINGS_RENAMED = {
    43: ('palm', 'palm tree'), 51: ('light', 'light bulb'),
    80: ('pot', 'plant pots'), 84: ('screen', 'projection screen'),
    86: ('hood', 'exhaust hood'), 92: ('fan', 'ceiling fan'),
    97: ('glass', 'cup')
}


def test_ade150_is_in_mmseg_label_order():
    from mmseg.datasets import ADE20KDataset
    assert renamed('ade150', ADE20KDataset.METAINFO['classes']) == \
        ADE150_RENAMED


def test_ade150_panoptic_is_in_mmdet_label_order():
    from mmdet.datasets import ADE20KInstanceDataset, ADE20KPanopticDataset
    meta = ADE20KPanopticDataset.METAINFO
    assert renamed('ade150_panoptic', meta['classes']) == {
        **ADE150_THINGS_RENAMED,
        113: ('house', 'house exterior'), 118: ('base', 'pedestal'),
        127: ('blind', 'window screen'), 140: ('pool', 'swimming pool')
    }
    # the same 150 protocol classes as ade150, things first
    panoptic = Vocabulary.build('ade150_panoptic')
    ade150 = Vocabulary.build('ade150')
    assert sorted(panoptic.classes) == sorted(ade150.classes)
    things = Vocabulary.build('ade150_panoptic_things')
    assert things.classes == panoptic.classes[:100]
    assert renamed('ade150_panoptic_things', meta['thing_classes']) == \
        renamed('ade150_panoptic_things',
                ADE20KInstanceDataset.METAINFO['classes']) == \
        ADE150_THINGS_RENAMED


def test_coco_vocabularies_are_in_mmseg_and_mmdet_label_order():
    from mmdet.datasets import CocoPanopticDataset
    from mmseg.datasets import COCOStuffDataset
    assert renamed('coco_stuff', COCOStuffDataset.METAINFO['classes']) == {
        130: ('plant', 'plant-other')
    }
    assert renamed('coco_panoptic',
                   CocoPanopticDataset.METAINFO['classes']) == {
        49: ('orange', 'orange fruit'), 65: ('remote', 'tv remote'),
        87: ('floor wood', 'wood floor'), 92: ('light', 'lamp'),
        94: ('net', 'tennis net'), 109: ('wall brick', 'brick wall'),
        110: ('wall stone', 'stone wall'), 111: ('wall tile', 'tile wall'),
        112: ('wall wood', 'wood wall')
    }
    # no raw COCO ids such as wall-other-merged left as synonyms
    assert not any(
        s.endswith('-merged') for s in Vocabulary.build('coco_panoptic')
        .synonyms)


def test_pascal_vocabularies_are_in_mmseg_label_order():
    from mmseg.datasets import PascalContextDataset59

    from mmseg_maskclippp.datasets import PascalVOC20Dataset
    assert renamed('pc59', PascalContextDataset59.METAINFO['classes']) == {
        18: ('computer', 'computer case'), 32: ('light', 'lamp'),
        40: ('road', 'street'), 58: ('wood', 'wood piece')
    }
    assert renamed('voc20', PascalVOC20Dataset.METAINFO['classes']) == {}


def test_pc459_is_in_the_order_of_pascal_context_labels_txt():
    """PC-459 labels are ``labels.txt`` ids - 1, and ``labels.txt`` lists
    the classes alphabetically; the protocol renames three of them."""
    names = Vocabulary.build('pc459').names
    release = {61: 'case', 231: 'light', 457: 'wood'}
    assert [names[i] for i in release] == [
        'computer case', 'lamp', 'wood piece'
    ]
    labels_txt = [release.get(i, n) for i, n in enumerate(names)]
    assert labels_txt == sorted(labels_txt) and len(set(labels_txt)) == 459
    assert labels_txt[:3] == ['accordion', 'aeroplane', 'air conditioner']


def test_ade847_is_in_the_ade20k_full_benchmark_order():
    """A-847 labels are numbered by decreasing frequency (Mask2Former's
    ADE20K-full registration), not in ADE20K's ``objectnames`` order."""
    names = Vocabulary.build('ade847').names
    assert names[:11] == [
        'wall', 'building', 'sky', 'tree', 'road', 'floor', 'ceiling', 'bed',
        'sidewalk', 'earth', 'cabinet'
    ]
    assert names[-3:] == ['gear shift', 'towel rail', 'adding machine']
    # two classes named 'pedestal' in the protocol: the second one starts
    # with its next synonym, so that display names are unique
    pedestals = [i for i, c in enumerate(Vocabulary.build('ade847').classes)
                 if 'pedestal' in c]
    assert pedestals == [49, 313] and names[313] == 'plinth'


# ---------------------------------------------------------------------------
# seen / unseen split
@pytest.mark.parametrize('test, panoptic, stuff', [
    ('ade150', 64, 67), ('ade847', 101, 115), ('pc459', 85, 94),
    ('pc59', 51, 51), ('voc20', 20, 20)
])
def test_seen_test_classes(test, panoptic, stuff):
    """The paper's split: a test class is seen when one of its synonyms
    equals a training synonym; counted by the metrics' split."""
    classes = Vocabulary.build(test).names
    for train, expected in (('coco_panoptic', panoptic),
                            ('coco_stuff', stuff)):
        seen = seen_classes(train, test, classes, [], 'test')
        assert int(seen.sum()) == expected, (test, train)


def test_the_model_gives_the_same_split():
    """MaskCLIPpp's ``seen_classes`` (what the metrics read by default,
    paper Table 4 setting: COCO panoptic -> ADE20K panoptic) follows the
    test vocabulary's order."""
    model = make_segmentor('test-vit', vocabulary='coco_panoptic',
                           test_vocabulary='ade150_panoptic')
    seen = model.seen_classes.tolist()
    assert sum(seen) == 64
    model.set_vocabulary('ade150')
    by_name = dict(zip(model.test_vocabulary.names,
                       model.seen_classes.tolist()))
    assert seen == [by_name[n] for n in
                    Vocabulary.build('ade150_panoptic').names]


def test_vocabulary_files_are_package_data():
    """Every built-in vocabulary and its provenance note ship in the
    wheel (setup.py's package_data)."""
    with open(osp.join(ROOT, 'setup.py')) as f:
        setup = ast.parse(f.read())
    package_data = next(
        ast.literal_eval(node.value) for node in ast.walk(setup)
        if isinstance(node, ast.keyword) and node.arg == 'package_data')
    patterns = package_data['mmseg_maskclippp']
    files = os.listdir(BUILTIN_DIR)
    assert 'README.md' in files and 'ade847.txt' in files
    for name in files:
        assert any(
            fnmatch.fnmatch(f'vocabularies/{name}', p) for p in patterns), name
