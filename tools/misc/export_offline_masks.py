"""Run a mask generator over a folder of images and save its masks (and
class logits) for ``OfflineMaskGenerator``.

The config is either a generator base (defining ``mask_generator``, e.g.
``configs/_base_/generators/m2f_swin_t.py``) or a MaskCLIP++ config (its
``model.mask_generator``). Masks are computed on each image at its original
size and written as ``<out_dir>/<image stem><suffix>``; read them back with
``dict(type='OfflineMaskGenerator', mask_dir=<out_dir>, suffix=<suffix>)``.

The default format, ``npz`` (docs/offline_masks.md), also keeps the
generator's class logits when it has them, and writes the classes they
score to ``<out_dir>/vocabulary.txt``; the offline generator then feeds
them to Eq. 4 as the generator itself would.

Usage::

    python tools/misc/export_offline_masks.py CONFIG IMAGE_DIR OUT_DIR \
        [--format npz|rle_json|panoptic_png|npy] [--device cuda] \
        [--cfg-options mask_generator.short_side=640]
"""
import argparse
import os
import os.path as osp

import mmcv
import torch
from mmengine.config import Config, DictAction
from mmengine.utils import scandir, track_iter_progress
from mmseg.structures import SegDataSample

import mmseg_maskclippp  # noqa: F401  (registers the generators)
from mmseg_maskclippp.models.mask_generators.offline import (
    WRITABLE_FORMATS, save_offline_masks)
from mmseg_maskclippp.models.mask_generators.offline_npz import VOCABULARY_FILE
from mmseg_maskclippp.registry import MODELS

SUFFIXES = {
    'npz': '.npz',
    'rle_json': '.json',
    'panoptic_png': '.png',
    'npy': '.npy'
}
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='generator base or MaskCLIP++ config')
    parser.add_argument('image_dir', help='folder of images (recursive)')
    parser.add_argument('out_dir', help='where the mask files go')
    parser.add_argument(
        '--format', default='npz', choices=WRITABLE_FORMATS)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the config, key=value')
    return parser.parse_args()


def generator_config(cfg: Config) -> dict:
    if 'mask_generator' in cfg:
        return cfg.mask_generator
    if 'model' in cfg and cfg.model.get('mask_generator'):
        return cfg.model.mask_generator
    raise KeyError(f'{cfg.filename} defines neither mask_generator nor '
                   'model.mask_generator')


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    generator = MODELS.build(generator_config(cfg)).to(args.device).eval()
    names = sorted(
        scandir(
            args.image_dir,
            suffix=IMAGE_SUFFIXES,
            recursive=True,
            case_sensitive=False))
    if not names:
        raise FileNotFoundError(f'no images ({", ".join(IMAGE_SUFFIXES)}) '
                                f'under {args.image_dir}')
    os.makedirs(args.out_dir, exist_ok=True)
    suffix = SUFFIXES[args.format]
    vocabulary = generator.vocabulary if args.format == 'npz' else None
    vocabulary_file = osp.join(args.out_dir, VOCABULARY_FILE)
    if vocabulary is not None:
        vocabulary.to_file(vocabulary_file)
    elif args.format == 'npz' and osp.exists(vocabulary_file):
        raise FileExistsError(
            f'{vocabulary_file} (of another export) would make the offline '
            f'generator expect class logits that this generator '
            f'({type(generator).__name__}) does not have; remove it or '
            'choose another output folder')
    written = {}
    for name in track_iter_progress(names):
        path = osp.join(args.image_dir, name)
        stem = osp.splitext(osp.basename(name))[0]
        if stem in written:
            raise ValueError(f'{path} and {written[stem]} share the stem '
                             f'{stem!r}: their mask files would collide')
        written[stem] = path
        rgb = mmcv.imread(path, channel_order='rgb')
        image = torch.from_numpy(rgb).permute(2, 0, 1).float().to(args.device)
        size = tuple(rgb.shape[:2])
        sample = SegDataSample(
            metainfo=dict(img_path=path, img_shape=size, ori_shape=size))
        with torch.no_grad():
            generated = generator([image], [sample])[0]
        logits = generated.logits if vocabulary is not None else None
        if vocabulary is not None and logits is None:
            raise ValueError(f'{type(generator).__name__} declares a '
                             f'vocabulary but gave no class logits for {path}')
        save_offline_masks(generated.masks,
                           osp.join(args.out_dir, stem + suffix), args.format,
                           logits)
    kept = f' with class logits over {len(vocabulary)} classes ' \
        f'({VOCABULARY_FILE})' if vocabulary is not None else ''
    print(f'{len(names)} mask files ({args.format}){kept} in '
          f"{args.out_dir}; read them with dict(type='OfflineMaskGenerator', "
          f"mask_dir='{args.out_dir}', suffix='{suffix}')")


if __name__ == '__main__':
    main()
