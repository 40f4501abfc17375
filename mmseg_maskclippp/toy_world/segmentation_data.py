"""The toy world's semantic segmentation data, in mmseg's standard layout::

    <root>/img_dir/{train,val}/<id>.png    RGB scenes
    <root>/ann_dir/{train,val}/<id>.png    label maps (uint8)
    <root>/seen.txt                        training vocabulary
    <root>/all.txt                         test vocabulary (every class)
    <root>/world.json                      what the data was made from

The training split has scenes of seen classes only, labelled with their
index in ``seen.txt``; the validation split has seen and unseen classes,
labelled with their index in ``all.txt`` (the training and test label spaces
differ, as COCO's and ADE20K's do). ``world.json`` is written last, so a
folder without it, or with other parameters in it, is regenerated.
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, Optional

import mmcv
import numpy as np

from .world import GENERATOR_VERSION, ToyWorld

SPLITS = ('train', 'val')
SEEN_VOCABULARY = 'seen.txt'
ALL_VOCABULARY = 'all.txt'
STAMP = 'world.json'


def dataset_stamp(world: ToyWorld, num_train: int, num_val: int,
                  seed: int) -> Dict:
    """Everything the files of a dataset follow from."""
    return dict(
        world=world.params(),
        num_train=num_train,
        num_val=num_val,
        seed=seed,
        generator_version=GENERATOR_VERSION)


def read_stamp(path: str) -> Optional[Dict]:
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def write_segmentation_dataset(world: ToyWorld,
                               root: str,
                               num_train: int,
                               num_val: int,
                               seed: int = 0) -> str:
    """Draw the dataset into ``root``, replacing an earlier one there
    (only the files listed above are removed)."""
    if num_train < 1 or num_val < 1:
        raise ValueError(f'num_train and num_val must be >= 1, got '
                         f'{num_train}, {num_val}')
    for name in (STAMP, SEEN_VOCABULARY, ALL_VOCABULARY):
        if osp.isfile(osp.join(root, name)):
            os.remove(osp.join(root, name))
    for folder in ('img_dir', 'ann_dir'):
        if osp.isdir(osp.join(root, folder)):
            shutil.rmtree(osp.join(root, folder))
    seen = np.asarray(world.seen_classes)
    # full-vocabulary label -> seen-vocabulary label
    to_seen = np.full(world.num_classes, 255, np.uint8)
    to_seen[seen] = np.arange(len(seen))
    for split, num, classes in (('train', num_train, seen),
                                ('val', num_val, np.arange(
                                    world.num_classes))):
        rng = np.random.default_rng([seed, SPLITS.index(split)])
        for i in range(num):
            image, labels = world.scene(rng, classes)
            if split == 'train':
                labels = to_seen[labels]
            name = f'{split}_{i:05d}.png'
            mmcv.imwrite(image[..., ::-1],
                         osp.join(root, 'img_dir', split, name))
            mmcv.imwrite(labels.astype(np.uint8),
                         osp.join(root, 'ann_dir', split, name))
    world.seen_vocabulary().to_file(osp.join(root, SEEN_VOCABULARY))
    world.vocabulary().to_file(osp.join(root, ALL_VOCABULARY))
    with open(osp.join(root, STAMP), 'w', encoding='utf-8') as f:
        json.dump(dataset_stamp(world, num_train, num_val, seed), f,
                  indent=2)
    return root


def prepare_segmentation_dataset(world: ToyWorld,
                                 root: str,
                                 num_train: int,
                                 num_val: int,
                                 seed: int = 0) -> bool:
    """Make sure ``root`` holds this dataset; draw it if it is missing or
    was made from other parameters. Returns whether it was drawn."""
    wanted = dataset_stamp(world, num_train, num_val, seed)
    if read_stamp(osp.join(root, STAMP)) == wanted:
        return False
    write_segmentation_dataset(world, root, num_train, num_val, seed)
    return True
