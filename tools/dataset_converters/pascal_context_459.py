"""Convert the PASCAL Context release to PC-459 label maps.

    python tools/dataset_converters/pascal_context_459.py \\
        data/VOCdevkit/VOC2010 data/pascal_context_release

The release (``trainval.tar.gz`` of the PASCAL Context page, unpacked)
holds ``trainval/<image>.mat`` with a ``LabelMap`` of class ids (0:
unlabelled, i: line ``i: <name>`` of ``labels.txt``). Writes

* ``<voc2010>/SegmentationClassContext459/<image>.png``: 16-bit label maps,
  class ids 0..458 (the label file's ids minus one), unlabelled 65535;
* ``<voc2010>/pc459_vocabulary.txt``: ``id:name`` from ``labels.txt``.

The split files are mmseg's (``ImageSets/SegmentationContext/*.txt``,
written by mmseg's ``tools/dataset_converters/pascal_context.py``).
"""
import argparse
import glob
import os.path as osp
from functools import partial
from typing import List

import mmcv
import numpy as np
from mmengine.utils import track_parallel_progress, track_progress
from scipy.io import loadmat

from mmseg_maskclippp.vocabulary import Vocabulary

IGNORE = 65535


def read_labels(path: str) -> List[str]:
    """Class names of ``labels.txt`` (``<id>: <name>`` lines, ids 1..K in
    order)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found')
    names = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            id_str, sep, name = line.partition(':')
            if not sep or not id_str.strip().isdigit() or not name.strip():
                raise ValueError(f'{path}:{lineno}: expected "<id>: <name>", '
                                 f'got {line.strip()!r}')
            if int(id_str) != len(names) + 1:
                raise ValueError(f'{path}:{lineno}: class id {int(id_str)} '
                                 f'out of order, expected {len(names) + 1}')
            names.append(name.strip())
    if not names:
        raise ValueError(f'{path}: no classes')
    return names


def convert(mat_path: str, out_dir: str, num_classes: int) -> None:
    labels = loadmat(mat_path)['LabelMap']
    if labels.ndim != 2 or labels.min() < 0 or labels.max() > num_classes \
            or not np.array_equal(labels, np.round(labels)):
        raise ValueError(f'{mat_path}: LabelMap must be a 2-D map of class '
                         f'ids 0..{num_classes}')
    labels = labels.astype(np.int64)
    out = np.where(labels > 0, labels - 1, IGNORE).astype(np.uint16)
    name = osp.splitext(osp.basename(mat_path))[0]
    mmcv.imwrite(out, osp.join(out_dir, name + '.png'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='PASCAL Context .mat files -> PC-459 label maps')
    parser.add_argument('voc2010', help='VOCdevkit/VOC2010 folder')
    parser.add_argument(
        'release', help='unpacked PASCAL Context release (trainval/*.mat '
        'and labels.txt)')
    parser.add_argument('--nproc', type=int, default=1,
                        help='worker processes')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = read_labels(osp.join(args.release, 'labels.txt'))
    mats = sorted(glob.glob(osp.join(args.release, 'trainval', '*.mat')))
    if not mats:
        raise FileNotFoundError(
            f'no .mat file in {osp.join(args.release, "trainval")}')
    Vocabulary(names, source='labels.txt').to_file(
        osp.join(args.voc2010, 'pc459_vocabulary.txt'))
    out_dir = osp.join(args.voc2010, 'SegmentationClassContext459')
    func = partial(convert, out_dir=out_dir, num_classes=len(names))
    print(f'writing {len(mats)} label maps ({len(names)} classes)')
    if args.nproc > 1:
        track_parallel_progress(func, mats, args.nproc)
    else:
        track_progress(func, mats)


if __name__ == '__main__':
    main()
