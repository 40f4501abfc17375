"""Segment your own images with any vocabulary.

    python tools/demo.py photo.jpg CONFIG CHECKPOINT --classes 'sky,clouds|tree|red car'
    python tools/demo.py photos/ CONFIG CHECKPOINT --vocabulary ade150+voc20 \\
        --task panoptic --generator m2f_swin_t --out-dir out --save-label

Inputs are image files and/or folders (their images, by extension). For
every image ``OUT_DIR/<name>.png`` shows the coloured masks with class names
on the regions, at the image's size (enlarged by a whole factor when its
shorter side is below ``--min-display-size``), followed on the right by a
legend of the classes present. ``--save-label`` adds ``<name>_label.png``
(the class index of every pixel, 8 or 16 bit, at the image's size), for
panoptic ``<name>_panoptic.png`` (mmdet's ``label + instance * 1000`` id as
R + 256 G + 65536 B) and ``vocabulary.txt`` (the class of every index).

Every input (images, vocabulary, generator, checkpoint) is checked before
anything is written; a bad one stops the demo with a message. Images must
be at least ``MIN_IMAGE_SIDE`` (16) pixels on their short side and at most
``MAX_ASPECT_RATIO`` (16) times longer than that (``check_image_size`` in
``mmseg_maskclippp.apis``).
"""  # noqa: E501
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List

import mmcv
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

from mmseg_maskclippp.apis import (MIN_DISPLAY_SIZE, PredictionVisualizer,
                                   build_test_pipeline, check_image_size,
                                   inference_segmentor, init_segmentor,
                                   load_generator_config, parse_vocabulary)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
GENERATOR_DIR = osp.join(ROOT, 'configs', '_base_', 'generators')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='MaskCLIP++: segment images with any vocabulary')
    parser.add_argument('inputs', nargs='+', help='image files or folders')
    parser.add_argument('config', help='MaskCLIP++ config file')
    parser.add_argument(
        'checkpoint', help='MaskCLIP++ checkpoint (ours or converted)')
    parser.add_argument(
        '--classes',
        help="classes separated by '|', synonyms by ',': "
        "'sky,clouds|tree|red car'")
    parser.add_argument(
        '--vocabulary',
        help='benchmark vocabularies (ade150, ade847, pc459, voc20, '
        "coco-stuff, ...) or vocabulary files, joined by '+': "
        "'ade150+voc20'. With --classes too, the typed classes come first. "
        "Default (neither): the config's test vocabulary")
    parser.add_argument(
        '--task', choices=['semantic', 'panoptic', 'instance'],
        default='semantic', help='what to draw')
    parser.add_argument(
        '--generator',
        help="mask generator replacing the config's: a config in "
        'configs/_base_/generators (felzenszwalb, m2f_swin_t, m2f_swin_l) '
        'or a file defining mask_generator; needed when the config uses '
        'the ground-truth masks')
    parser.add_argument('--out-dir', default='demo_out', help='output folder')
    parser.add_argument(
        '--save-label', action='store_true',
        help='also write the raw label maps and vocabulary.txt')
    parser.add_argument('--opacity', type=float, default=0.6,
                        help='opacity of the masks, 0..1')
    parser.add_argument(
        '--score-thr', type=float, default=0.3,
        help='instances scoring at or below it are not drawn')
    parser.add_argument(
        '--unsafe-load', action='store_true',
        help='unpickle the checkpoint fully (runs code a crafted file '
        'holds): only for files you trust; by default it loads weights-only')
    parser.add_argument(
        '--min-display-size', type=int, default=MIN_DISPLAY_SIZE,
        help='images with a shorter side below it are drawn enlarged by a '
        'whole factor, so that names and legend stay readable; 0: always '
        "at the image's size")
    parser.add_argument(
        '--device', default='cuda:0' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. '
        'model.test_cfg.object_mask_threshold=0.5')
    return parser.parse_args(argv)


def list_images(inputs: List[str]) -> List[str]:
    """Image files of ``inputs`` (folders listed by extension, sorted),
    each checked readable and of a size the demo handles."""
    images = []
    for path in inputs:
        if osp.isdir(path):
            found = sorted(
                osp.join(path, f) for f in os.listdir(path)
                if f.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise ValueError(
                    f'{path}: no images ({", ".join(IMAGE_EXTENSIONS)})')
            images.extend(found)
        elif osp.isfile(path):
            images.append(path)
        else:
            raise FileNotFoundError(f'input not found: {path}')
    for path in images:
        try:
            image = mmcv.imread(path)
        except Exception as e:  # decoder errors of any kind
            raise ValueError(f'cannot read image {path}: {e}') from e
        if image is None:
            raise ValueError(f'cannot read image {path}: not an image')
        check_image_size(path, *image.shape[:2])
    return images


def output_names(images: List[str]) -> Dict[str, str]:
    """Image -> output name (file name without extension), unique."""
    names = {}
    for path in images:
        name = osp.splitext(osp.basename(path))[0]
        if name in names.values():
            other = next(p for p, n in names.items() if n == name)
            raise ValueError(f'{other} and {path} would both be written as '
                             f'{name}.png: rename one or run them apart')
        names[path] = name
    return names


def write_label_maps(sample, task: str, num_classes: int,
                     prefix: str) -> None:
    labels = sample.pred_sem_seg.data[0].cpu().numpy()
    mmcv.imwrite(
        labels.astype(np.uint8 if num_classes <= 256 else np.uint16),
        prefix + '_label.png')
    if task == 'panoptic':
        ids = sample.pred_panoptic_seg.sem_seg[0].cpu().numpy()
        bgr = np.stack([ids // 65536, ids // 256 % 256, ids % 256], axis=-1)
        mmcv.imwrite(bgr.astype(np.uint8), prefix + '_panoptic.png')


def run(args) -> List[dict]:
    vocabulary = parse_vocabulary(args.classes, args.vocabulary) \
        if args.classes is not None or args.vocabulary is not None else None
    if not 0 <= args.opacity <= 1:
        raise ValueError(f'--opacity must be in 0..1, got {args.opacity}')
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        raise ValueError(f'--out-dir {args.out_dir} is a file')
    images = list_images(args.inputs)
    names = output_names(images)
    generator = load_generator_config(args.generator, GENERATOR_DIR) \
        if args.generator else None
    model = init_segmentor(
        args.config, args.checkpoint, device=args.device,
        cfg_options=args.cfg_options, mask_generator=generator,
        tasks=[args.task], vocabulary=vocabulary,
        allow_unsafe_pickle=args.unsafe_load)
    pipeline = build_test_pipeline(model.cfg)
    visualizer = PredictionVisualizer(args.task, args.opacity, args.score_thr,
                                      args.min_display_size)
    meta = model.dataset_meta

    os.makedirs(args.out_dir, exist_ok=True)
    if args.save_label:
        model.test_vocabulary.to_file(
            osp.join(args.out_dir, 'vocabulary.txt'))
    results = []
    progress = ProgressBar(len(images))
    for path in images:
        sample = inference_segmentor(model, pipeline, path)
        picture, entries = visualizer.draw(
            mmcv.imread(path, channel_order='rgb'), sample,
            meta['classes'], meta['palette'])
        prefix = osp.join(args.out_dir, names[path])
        mmcv.imwrite(mmcv.rgb2bgr(picture), prefix + '.png')
        if args.save_label:
            write_label_maps(sample, args.task, len(meta['classes']), prefix)
        results.append(
            dict(image=path, output=prefix + '.png',
                 legend=[meta['classes'][k] for k in entries]))
        progress.update()
    return results


def main(argv=None) -> List[dict]:
    """Run the demo; returns per image the input, the drawing and the
    legend (class names). Bad input exits with a message."""
    args = parse_args(argv)
    try:
        return run(args)
    except (ValueError, OSError) as e:
        sys.exit(f'demo.py: error: {e}')


if __name__ == '__main__':
    main()
