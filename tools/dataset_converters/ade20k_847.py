"""Convert the ADE20K_2021_17_01 release to A-847 label maps.

    python tools/dataset_converters/ade20k_847.py data/ade/ADE20K_2021_17_01

Reads ``index_ade20k.pkl`` (``objectnames``) and every object segmentation
``images/ADE/<split>/**/ADE_*_seg.png`` of the release, whose class of a
pixel is ``R // 10 * 256 + G`` (0: unlabelled, v: ``objectnames[v - 1]``).

The 847 classes are derived from the release itself by a documented rule
(no class list is copied from elsewhere): the object classes that label at
least one pixel in both the training and the validation split. This is how
the ADE20K-full benchmark is described (classes present in both splits).

Their label order (``--class-order``):

* ``protocol`` (default): the benchmark's, that of the built-in ``ade847``
  class list, which the benchmark configs predict. The benchmark numbers the
  classes by frequency (wall, building, sky, tree, ...), not in
  ``objectnames`` order. Each release class is assigned to one protocol class
  so that the summed overlap of their synonyms (Jaccard index of the
  lower-case synonym sets) is largest. On the 847 ``objectnames`` entries of
  ADE20K_2021_17_01, as Mask2Former's ADE20K-full registration lists them in
  benchmark order, this recovers that order for all 847 classes (two of them,
  ``house`` and ``fan``, share no synonym with the protocol's ``house
  exterior`` and ``ceiling fan`` and are placed by elimination; the dataset
  warns about them). Needs exactly 847 classes.
* ``objectnames``: increasing ``objectnames`` index, for other releases;
  evaluate with the written vocabulary file as the test vocabulary then.

Writes

* ``<root>/annotations_847/<split>/**/ADE_*.png``: 16-bit label maps, class
  ids 0..K-1, unlabelled and other classes 65535, mirroring the image
  folders so that the images need no copy;
* ``<root>/ade847_vocabulary.txt``: ``id:name,synonym,...`` built from the
  class's ``objectnames`` entry (comma-separated WordNet synonyms), in label
  order.
"""
import argparse
import os
import os.path as osp
import pickle
import warnings
from functools import partial
from typing import Dict, List, Sequence, Tuple

import mmcv
import numpy as np
from mmengine.utils import track_parallel_progress, track_progress
from scipy.optimize import linear_sum_assignment

from mmseg_maskclippp.datasets.vocabulary_dataset import check_label_order
from mmseg_maskclippp.vocabulary import Vocabulary

SPLITS = ('training', 'validation')
CLASS_ORDERS = ('protocol', 'objectnames')
PROTOCOL_VOCABULARY = 'ade847'
#: weight of shared words against shared synonyms in the class assignment
WORD_TIE_BREAK = 1e-3
A847_NUM_CLASSES = 847
IGNORE = 65535
SEG_SUFFIX = '_seg.png'


def decode_classes(seg_path: str) -> np.ndarray:
    """(H, W) int32 class values of an ADE20K ``*_seg.png``."""
    seg = mmcv.imread(seg_path, flag='color', channel_order='rgb')
    if seg is None or seg.ndim != 3 or seg.dtype != np.uint8:
        raise ValueError(f'{seg_path}: expected an 8-bit RGB segmentation')
    return (seg[..., 0].astype(np.int32) // 10) * 256 + seg[..., 1]


def present_classes(seg_path: str) -> np.ndarray:
    return np.unique(decode_classes(seg_path))


def find_segmentations(root: str, split: str) -> List[str]:
    split_dir = osp.join(root, 'images', 'ADE', split)
    if not osp.isdir(split_dir):
        raise FileNotFoundError(f'{split_dir} not found: give the root of '
                                'the unpacked ADE20K_2021_17_01 release')
    found = []
    for folder, _, files in os.walk(split_dir):
        found += [
            osp.join(folder, f) for f in files
            if f.startswith('ADE_') and f.endswith(SEG_SUFFIX)
        ]
    return sorted(found)


def select_classes(presence: Dict[str, Sequence[np.ndarray]]) -> List[int]:
    """Class values (> 0) present in every split, in increasing order."""
    common = None
    for split in SPLITS:
        values = set()
        for present in presence[split]:
            values.update(int(v) for v in present)
        common = values if common is None else common & values
    return sorted(v for v in common if v > 0)


def objectname_synonyms(objectnames: Sequence[str],
                        value: int) -> List[str]:
    """The synonyms of class value ``value`` (``objectnames[value - 1]``,
    comma-separated), each once."""
    if value - 1 >= len(objectnames):
        raise ValueError(f'class value {value} is beyond the '
                         f'{len(objectnames)} objectnames of the index')
    synonyms = []
    for s in objectnames[value - 1].replace(', ', ',').split(','):
        if s.strip() and s.strip() not in synonyms:
            synonyms.append(s.strip())
    if not synonyms:
        raise ValueError(f'objectnames[{value - 1}] is empty')
    return synonyms


def jaccard(rows: Sequence[set], cols: Sequence[set]) -> np.ndarray:
    """(len(rows), len(cols)) Jaccard index of every pair of sets."""
    owners = {}
    for j, items in enumerate(cols):
        for item in items:
            owners.setdefault(item, []).append(j)
    sizes = np.array([len(items) for items in cols])
    out = np.zeros((len(rows), len(cols)))
    for i, items in enumerate(rows):
        for item in items:
            for j in owners.get(item, ()):
                out[i, j] += 1
        out[i] /= np.maximum(len(items) + sizes - out[i], 1)
    return out


def protocol_order(classes: Sequence[Sequence[str]],
                   protocol: Vocabulary) -> List[int]:
    """For each protocol label, the index into ``classes`` (synonym lists)
    of the class assigned to it: the one-to-one assignment with the largest
    summed Jaccard index of lower-case synonym sets (plus
    :data:`WORD_TIE_BREAK` times that of their word sets)."""
    if len(classes) != len(protocol):
        raise ValueError(
            f'{len(classes)} classes present in both splits, the '
            f'{protocol.source!r} protocol list has {len(protocol)}: not the '
            'complete ADE20K_2021_17_01 release? For another release use '
            '--class-order objectnames')
    score = jaccard([{s.lower() for s in c} for c in classes],
                    [{s.lower() for s in c} for c in protocol.classes])
    # ties (classes sharing no synonym) are broken by shared words
    score += WORD_TIE_BREAK * jaccard(
        [set(' '.join(c).lower().split()) for c in classes],
        [set(' '.join(c).lower().split()) for c in protocol.classes])
    rows, cols = linear_sum_assignment(score, maximize=True)
    order = np.empty(len(protocol), int)
    order[cols] = rows
    return order.tolist()


def class_synonyms(objectnames: Sequence[str],
                   values: Sequence[int]) -> List[Tuple[str, ...]]:
    """Synonyms of each selected class from its ``objectnames`` entry.

    The display name (first synonym) must be unique: when the first
    synonym of a class is already the display name of an earlier class,
    its first synonym not yet used as a display name moves to the front;
    if all are used, the display name is ``'<first synonym> <value>'``."""
    classes, taken = [], set()
    for value in values:
        synonyms = objectname_synonyms(objectnames, value)
        free = [s for s in synonyms if s not in taken]
        name = free[0] if free else f'{synonyms[0]} {value}'
        synonyms = [name] + [s for s in synonyms if s != name]
        taken.add(name)
        classes.append(tuple(synonyms))
    return classes


def convert(seg_path: str, lut: np.ndarray, root: str, out_dir: str) -> None:
    values = decode_classes(seg_path)
    relative = osp.relpath(seg_path, osp.join(root, 'images', 'ADE'))
    out = osp.join(out_dir, relative[:-len(SEG_SUFFIX)] + '.png')
    mmcv.imwrite(lut[values], out)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='ADE20K_2021_17_01 -> A-847 16-bit label maps')
    parser.add_argument('root', help='unpacked ADE20K_2021_17_01 folder')
    parser.add_argument(
        '--splits', nargs='+', choices=SPLITS, default=['validation'],
        help='splits whose label maps are written (default: validation)')
    parser.add_argument(
        '--class-order', choices=CLASS_ORDERS, default='protocol',
        help='label order: the benchmark protocol\'s (default; the built-in '
        f'{PROTOCOL_VOCABULARY!r} list) or increasing objectnames index')
    parser.add_argument('--nproc', type=int, default=1,
                        help='worker processes')
    return parser.parse_args(argv)


def _track(func, tasks, nproc):
    if nproc > 1:
        return track_parallel_progress(func, tasks, nproc)
    return track_progress(func, tasks)


def main(argv=None):
    args = parse_args(argv)
    index_file = osp.join(args.root, 'index_ade20k.pkl')
    if not osp.isfile(index_file):
        raise FileNotFoundError(f'{index_file} not found')
    with open(index_file, 'rb') as f:
        objectnames = pickle.load(f)['objectnames']
    files = {split: find_segmentations(args.root, split) for split in SPLITS}
    presence = {}
    for split in SPLITS:
        print(f'finding the classes of {len(files[split])} {split} images')
        presence[split] = _track(present_classes, files[split], args.nproc)
    values = select_classes(presence)
    print(f'{len(values)} classes present in both splits')
    if args.class_order == 'protocol':
        protocol = Vocabulary.build(PROTOCOL_VOCABULARY)
        order = protocol_order(
            [objectname_synonyms(objectnames, v) for v in values], protocol)
        values = [values[i] for i in order]
    elif len(values) != A847_NUM_CLASSES:
        warnings.warn(f'{len(values)} classes found, the A-847 benchmark '
                      f'has {A847_NUM_CLASSES}: is {args.root} the complete '
                      'ADE20K_2021_17_01 release?')
    vocabulary = Vocabulary(class_synonyms(objectnames, values),
                            source=index_file)
    if args.class_order == 'protocol':
        check_label_order(vocabulary, protocol, index_file)
    vocabulary.to_file(osp.join(args.root, 'ade847_vocabulary.txt'))
    lut = np.full(256 * 26, IGNORE, np.uint16)
    lut[values] = np.arange(len(values))
    for split in args.splits:
        out_dir = osp.join(args.root, 'annotations_847')
        print(f'writing {len(files[split])} {split} label maps')
        _track(partial(convert, lut=lut, root=args.root, out_dir=out_dir),
               files[split], args.nproc)


if __name__ == '__main__':
    main()
