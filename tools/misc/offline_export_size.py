"""Disk size, read time and memory of ``.npz`` offline exports.

Writes synthetic exports shaped like FC-CLIP's (Q queries: smooth random
mask logits at stride 4, upsampled bilinearly and binarised at 0, as the
detectron2 export in docs/offline_masks.md does; class logits over K + 1
classes) for N images of H x W, then reads them back one by one through
``OfflineMaskGenerator`` as an evaluation does, and prints a table: file
size per image, write and read time per image, and the process's resident
memory after the first and after the last image (equal when nothing is
kept between images).

    python tools/misc/offline_export_size.py [--queries 250] \\
        [--size 1024 2048] [--num-images 20] [--classes 150]
"""
import argparse
import os
import os.path as osp
import tempfile
import time

import numpy as np
import psutil
import torch
import torch.nn.functional as F
from mmseg.structures import SegDataSample

from mmseg_maskclippp.models.mask_generators import OfflineMaskGenerator
from mmseg_maskclippp.models.mask_generators.offline_npz import (
    VOCABULARY_FILE, save_offline_npz)
from mmseg_maskclippp.vocabulary import Vocabulary


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--queries', type=int, default=250)
    parser.add_argument('--size', type=int, nargs=2, default=(1024, 2048))
    parser.add_argument('--num-images', type=int, default=20)
    parser.add_argument('--classes', type=int, default=150)
    return parser.parse_args()


def synthetic_masks(generator, queries, h, w):
    """(Q, H, W) bool: blobs of a smooth random field at stride 4, of very
    different sizes (some queries empty), binarised after upsampling."""
    coarse = torch.randn(queries, 1, h // 64, w // 64, generator=generator)
    field = F.interpolate(coarse, size=(h // 4, w // 4), mode='bicubic',
                          align_corners=False)
    field = field - torch.rand(queries, 1, 1, 1, generator=generator) * 4
    return np.concatenate([
        (F.interpolate(chunk, size=(h, w), mode='bilinear',
                       align_corners=False)[:, 0] > 0).numpy()
        for chunk in field.split(16)
    ])


def rss_mb():
    return psutil.Process().memory_info().rss / 2**20


def main():
    args = parse_args()
    h, w = args.size
    generator = torch.Generator().manual_seed(0)
    vocabulary = Vocabulary([f'class {i}' for i in range(args.classes)])
    with tempfile.TemporaryDirectory() as folder:
        vocabulary.to_file(osp.join(folder, VOCABULARY_FILE))
        sizes, write_times, coverage = [], [], []
        for i in range(args.num_images):
            masks = synthetic_masks(generator, args.queries, h, w)
            logits = torch.randn(args.queries, args.classes + 1,
                                 generator=generator).numpy()
            path = osp.join(folder, f'img_{i:05d}.npz')
            start = time.perf_counter()
            save_offline_npz(path, masks, logits)
            write_times.append(time.perf_counter() - start)
            sizes.append(os.path.getsize(path))
            coverage.append(masks.mean())
        offline = OfflineMaskGenerator(folder, '.npz')
        image = torch.zeros(3, h, w)
        read_times, rss = [], []
        for i in range(args.num_images):
            sample = SegDataSample(
                metainfo=dict(
                    img_path=f'img_{i:05d}.jpg',
                    img_shape=(h, w),
                    ori_shape=(h, w)))
            start = time.perf_counter()
            out = offline([image], [sample])[0]
            read_times.append(time.perf_counter() - start)
            del out
            rss.append(rss_mb())
    dense = args.queries * h * w * 4 / 2**20
    print(f'{args.num_images} exports of {args.queries} masks at {h} x {w}, '
          f'{args.classes} + 1 class logits (mask coverage '
          f'{100 * np.mean(coverage):.1f}% of the image on average)')
    print('| measure | value |')
    print('|---|---|')
    print(f'| file size per image, mean (max) | '
          f'{np.mean(sizes) / 2**20:.2f} MiB ({max(sizes) / 2**20:.2f} MiB) |')
    print(f'| dense float32 masks, for comparison | {dense:.0f} MiB |')
    print(f'| write time per image | {np.mean(write_times):.2f} s |')
    print(f'| read time per image (decode + float masks) | '
          f'{np.mean(read_times):.2f} s |')
    print(f'| resident memory after image 1 / {args.num_images} | '
          f'{rss[0]:.0f} / {rss[-1]:.0f} MiB |')


if __name__ == '__main__':
    main()
