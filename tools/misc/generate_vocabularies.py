"""Write the built-in vocabularies from the datasets' own metadata.

Class names come from mmseg's and mmdet's ``METAINFO``, in the label order of
those datasets. COCO names such as ``wall-other-merged`` or ``floor-wood``
become a readable display name (suffixes ``-merged``, ``-other`` and
``-stuff`` dropped, hyphens to spaces: ``wall``, ``floor wood``) followed by
the raw name as a second synonym. A-847 and PC-459 have no metadata in
mmseg/mmdet: their converters (tools/dataset_converters) write their
vocabularies from the datasets' own files.

Usage: python tools/misc/generate_vocabularies.py [--out DIR]
"""
import argparse
import os.path as osp

from mmdet.datasets import ADE20KPanopticDataset, CocoPanopticDataset
from mmseg.datasets import (ADE20KDataset, COCOStuffDataset,
                            PascalContextDataset59, PascalVOCDataset)

from mmseg_maskclippp.vocabulary import BUILTIN_DIR, Vocabulary

SUFFIXES = ('-merged', '-other', '-stuff')


def readable(name: str) -> list:
    """Synonyms of a metadata class name: readable name first."""
    clean = name
    changed = True
    while changed:
        changed = False
        for suffix in SUFFIXES:
            if clean.endswith(suffix):
                clean, changed = clean[:-len(suffix)], True
    clean = clean.replace('-', ' ').replace('_', ' ')
    return [clean] if clean == name else [clean, name]


def vocabularies() -> dict:
    """name -> (list of synonym lists, description)."""
    voc = PascalVOCDataset.METAINFO['classes']
    assert voc[0] == 'background'
    ade_pan = ADE20KPanopticDataset.METAINFO
    return {
        'coco_stuff': COCOStuffDataset.METAINFO['classes'],
        'coco_panoptic': CocoPanopticDataset.METAINFO['classes'],
        'ade150': ADE20KDataset.METAINFO['classes'],
        'ade150_panoptic': ade_pan['classes'],
        'ade150_panoptic_things': ade_pan['thing_classes'],
        'pc59': PascalContextDataset59.METAINFO['classes'],
        'voc20': voc[1:],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=BUILTIN_DIR)
    args = parser.parse_args()
    for name, classes in vocabularies().items():
        vocab = Vocabulary([readable(c) for c in classes], source=name)
        path = osp.join(args.out, name + '.txt')
        vocab.to_file(path)
        print(f'{path}: {len(vocab)} classes')


if __name__ == '__main__':
    main()
