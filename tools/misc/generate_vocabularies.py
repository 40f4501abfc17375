"""Write the built-in vocabularies from the benchmark-protocol class lists.

The single source of truth is ``tools/misc/benchmark_vocabularies/*.txt``:
the class names and synonyms of the open-vocabulary benchmark protocol,
unchanged from the official MaskCLIP++ release (Apache-2.0, provenance in
the README there). Each built-in vocabulary in
``mmseg_maskclippp/vocabularies`` is one of these lists put into the label
order of the dataset it is used with:

========================  ==============  ==================================
built-in                  protocol list   label order of
========================  ==============  ==================================
coco_stuff                coco_stuff      mmseg ``COCOStuffDataset``
coco_panoptic             coco_panoptic   mmdet ``CocoPanopticDataset``
ade150                    ade20k_150      mmseg ``ADE20KDataset``
ade150_panoptic(_things)  ade20k_150      mmdet ``ADE20KPanopticDataset``
ade847                    ade20k_847      ``ADE20K847Dataset``
pc59                      pascal_ctx_59   mmseg ``PascalContextDataset59``
pc459                     pascal_ctx_459  ``PascalContext459Dataset``
voc20                     pascal_voc_21   ``PascalVOC20Dataset``
========================  ==============  ==================================

Id schemes: lines named ``invalid_class_id`` are not classes; the COCO lists
are indexed by COCO category id, whose increasing order is the label order of
mmseg's and mmdet's COCO datasets; the ADE and PASCAL Context lists are
indexed by label + 1 (line 0 is a placeholder); id 0 of the VOC list is
background, which PAS-20 leaves out. mmdet orders the ADE20K panoptic classes
things first: its converter (``tools/dataset_converters/ade20k2coco.py`` of
mmdet) gives panoptic class ``i`` the ADE-150 class whose name in its
``ORIGINAL_CATEGORIES`` equals the dataset's class name ``i``; that list is
read from the converter shipped with mmdet.

Two edits leave every number unchanged (test logits take the max over
synonyms, the seen split and the generator's class mapping compare synonym
sets): a synonym repeated within one class is kept once, and where the
protocol gives two classes the same first synonym (9 names in A-847), the
class with fewer synonyms keeps it and the other moves its first synonym that
names no other class to the front, so that display names stay unique.

Usage: python tools/misc/generate_vocabularies.py [--out DIR]
(``tests/test_vocabularies.py`` checks that the shipped files are its
output.)
"""
import argparse
import ast
import os.path as osp
from collections import Counter
from typing import Dict, List, Sequence

from mmseg_maskclippp.vocabulary import BUILTIN_DIR, Vocabulary

PROTOCOL_DIR = osp.join(
    osp.dirname(osp.abspath(__file__)), 'benchmark_vocabularies')
INVALID = 'invalid_class_id'
Classes = List[List[str]]


def read_protocol(name: str, protocol_dir: str = PROTOCOL_DIR
                  ) -> Dict[int, List[str]]:
    """``{id: synonyms}`` of a protocol list, ``invalid_class_id`` lines
    left out; each synonym once, in its first position."""
    path = osp.join(protocol_dir, name + '.txt')
    entries = {}
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            id_str, sep, names = line.strip().partition(':')
            if not sep or not id_str.isdigit():
                raise ValueError(f'{path}:{lineno}: expected "<id>:<name>,'
                                 f'<synonym>,...", got {line.strip()!r}')
            if int(id_str) in entries:
                raise ValueError(f'{path}:{lineno}: id {id_str} repeated')
            synonyms = [s.strip() for s in names.replace(', ', ',').split(',')]
            if synonyms != [INVALID]:
                entries[int(id_str)] = list(dict.fromkeys(synonyms))
    return entries


def in_id_order(entries: Dict[int, List[str]], first_id: int) -> Classes:
    """The classes from ``first_id`` on, in increasing id order."""
    return [entries[i] for i in sorted(entries) if i >= first_id]


def ade20k_panoptic_order(classes: Sequence[str]) -> List[int]:
    """ADE-150 label of each of mmdet's ADE20K panoptic classes, as mmdet's
    converter assigns it (see the module docstring)."""
    import mmdet
    path = osp.join(
        osp.dirname(mmdet.__file__), '.mim', 'tools', 'dataset_converters',
        'ade20k2coco.py')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found: the ADE20K panoptic class order is read from '
            "mmdet's converter, which a pip-installed mmdet ships")
    with open(path, encoding='utf-8') as f:
        module = ast.parse(f.read(), path)
    original = next(
        ast.literal_eval(node.value) for node in module.body
        if isinstance(node, ast.Assign) and getattr(
            node.targets[0], 'id', None) == 'ORIGINAL_CATEGORIES')
    return [original.index(name) for name in classes]


def unique_display_names(classes: Classes) -> Classes:
    """Reorder the synonyms of classes that share a first synonym so that
    first synonyms are unique (see the module docstring)."""
    firsts = Counter(c[0] for c in classes)
    out = [list(c) for c in classes]
    for name, count in firsts.items():
        if count == 1:
            continue
        group = [i for i, c in enumerate(classes) if c[0] == name]
        keeper = min(group, key=lambda i: len(classes[i]))
        for i in group:
            if i == keeper:
                continue
            free = [s for s in classes[i][1:] if s not in firsts]
            if not free:
                raise ValueError(
                    f'class {i} ({classes[i]}) shares its name {name!r} with '
                    'another class and has no other unique synonym')
            out[i] = [free[0]] + [s for s in classes[i] if s != free[0]]
    return out


def vocabularies(protocol_dir: str = PROTOCOL_DIR) -> Dict[str, Classes]:
    """Built-in name -> classes (synonym lists) in the dataset's label
    order."""
    from mmdet.datasets import ADE20KPanopticDataset

    def read(name):
        return read_protocol(name, protocol_dir)

    ade150 = in_id_order(read('ade20k_150'), first_id=1)
    panoptic = ADE20KPanopticDataset.METAINFO
    return {
        'coco_stuff': in_id_order(read('coco_stuff'), first_id=0),
        'coco_panoptic': in_id_order(read('coco_panoptic'), first_id=0),
        'ade150': ade150,
        'ade150_panoptic': [
            ade150[i] for i in ade20k_panoptic_order(panoptic['classes'])
        ],
        'ade150_panoptic_things': [
            ade150[i]
            for i in ade20k_panoptic_order(panoptic['thing_classes'])
        ],
        'ade847': unique_display_names(
            in_id_order(read('ade20k_847'), first_id=1)),
        'pc59': in_id_order(read('pascal_ctx_59'), first_id=1),
        'pc459': in_id_order(read('pascal_ctx_459'), first_id=1),
        'voc20': in_id_order(read('pascal_voc_21'), first_id=1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=BUILTIN_DIR,
                        help='output folder (default: the package\'s)')
    parser.add_argument('--protocol-dir', default=PROTOCOL_DIR,
                        help='folder of the protocol lists')
    args = parser.parse_args(argv)
    for name, classes in vocabularies(args.protocol_dir).items():
        vocab = Vocabulary(classes, source=name)
        path = osp.join(args.out, name + '.txt')
        vocab.to_file(path)
        print(f'{path}: {len(vocab)} classes, '
              f'{vocab.num_synonyms_total} synonyms')


if __name__ == '__main__':
    main()
