"""Convert the ADE20K_2021_17_01 release to A-847 label maps.

    python tools/dataset_converters/ade20k_847.py data/ade/ADE20K_2021_17_01

Reads ``index_ade20k.pkl`` (``objectnames``) and every object segmentation
``images/ADE/<split>/**/ADE_*_seg.png`` of the release, whose class of a
pixel is ``R // 10 * 256 + G`` (0: unlabelled, v: ``objectnames[v - 1]``).

The 847 classes are derived from the release itself by a documented rule
(no class list is copied from elsewhere): the object classes that label at
least one pixel in both the training and the validation split, in
``objectnames`` order. This is how the ADE20K-full benchmark is described
(classes present in both splits); the converter prints the number of classes
found so that a release giving other than 847 is noticed. Writes

* ``<root>/annotations_847/<split>/**/ADE_*.png``: 16-bit label maps, class
  ids 0..K-1, unlabelled and other classes 65535, mirroring the image
  folders so that the images need no copy;
* ``<root>/ade847_vocabulary.txt``: ``id:name,synonym,...`` built from the
  class's ``objectnames`` entry (comma-separated WordNet synonyms).
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

from mmseg_maskclippp.vocabulary import Vocabulary

SPLITS = ('training', 'validation')
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


def class_synonyms(objectnames: Sequence[str],
                   values: Sequence[int]) -> List[Tuple[str, ...]]:
    """Synonyms of each selected class from its ``objectnames`` entry.

    The display name (first synonym) must be unique: when the first
    synonym of a class is already the display name of an earlier class,
    its first synonym not yet used as a display name moves to the front;
    if all are used, the display name is ``'<first synonym> <value>'``."""
    classes, taken = [], set()
    for value in values:
        if value - 1 >= len(objectnames):
            raise ValueError(f'class value {value} is beyond the '
                             f'{len(objectnames)} objectnames of the index')
        synonyms = []
        for s in objectnames[value - 1].replace(', ', ',').split(','):
            if s.strip() and s.strip() not in synonyms:
                synonyms.append(s.strip())
        if not synonyms:
            raise ValueError(f'objectnames[{value - 1}] is empty')
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
    vocabulary = Vocabulary(class_synonyms(objectnames, values),
                            source=index_file)
    vocabulary.to_file(osp.join(args.root, 'ade847_vocabulary.txt'))
    print(f'{len(vocabulary)} classes present in both splits')
    if len(vocabulary) != A847_NUM_CLASSES:
        warnings.warn(f'{len(vocabulary)} classes found, the A-847 benchmark '
                      f'has {A847_NUM_CLASSES}: is {args.root} the complete '
                      'ADE20K_2021_17_01 release?')
    lut = np.full(256 * 26, IGNORE, np.uint16)
    lut[values] = np.arange(len(values))
    for split in args.splits:
        out_dir = osp.join(args.root, 'annotations_847')
        print(f'writing {len(files[split])} {split} label maps')
        _track(partial(convert, lut=lut, root=args.root, out_dir=out_dir),
               files[split], args.nproc)


if __name__ == '__main__':
    main()
