"""Convert a checkpoint of the official MaskCLIP++ (detectron2) for a config.

    python tools/convert_official_checkpoint.py \
        configs/maskclippp_convnext_b_coco-stuff.py \
        official/convnext-b_coco-stuff.pth work_dirs/convnext-b_coco-stuff.pth

The model is built from the config, with the config's pretrained CLIP
weights (the official checkpoints leave out the frozen text tower), the
official tensors are renamed and loaded over it, and the complete state dict
is saved as an mmengine checkpoint that ``tools/test.py``, ``mim test`` and
``tools/demo.py`` load strictly.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader

import mmseg_maskclippp  # noqa: F401
from mmseg_maskclippp.models.utils.official_checkpoint import \
    load_official_checkpoint
from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.utils import checkpoint_loading


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official MaskCLIP++ checkpoint')
    parser.add_argument('config', help='the config the weights are for')
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='where to save the converted checkpoint')
    parser.add_argument(
        '--allow-unused', action='store_true',
        help='drop official keys that have no place in the model instead '
        'of failing')
    parser.add_argument(
        '--unsafe-load', action='store_true',
        help='unpickle the official file fully (runs code a crafted file '
        'holds): only for files you trust; by default it loads weights-only')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. '
        'model.backbone.pretrained=/path/to/open_clip_weights.bin')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'official checkpoint {args.src} not found')
    with checkpoint_loading(args.unsafe_load, args.src):
        checkpoint = CheckpointLoader.load_checkpoint(
            args.src, map_location='cpu')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(cfg.model)
    _, result = load_official_checkpoint(
        model, checkpoint, allow_unused=args.allow_unused)
    print(result.summary())
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(
                converted_from=osp.abspath(args.src),
                config=osp.abspath(args.config),
                dataset_meta=model.dataset_meta)), args.dst)
    print(f'saved {args.dst}')
    return result


if __name__ == '__main__':
    main()
