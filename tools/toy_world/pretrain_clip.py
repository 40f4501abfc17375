"""Pretrain the toy world's CLIP contrastively on its captions (open_clip's
model, tokenizer and ClipLoss) and save it as an open_clip state dict.

The world and the pretraining parameters come from a toy-world config
(``toy_world.world`` and ``toy_world.clip``); the main job calls the same
code when the checkpoint is missing. Load the result like any downloaded
CLIP: ``pretrained='<file>'`` with ``model_name='toy-world-vit'``.

Usage::

    python tools/toy_world/pretrain_clip.py \
        [configs/toy_world/maskclippp_toy-vit_linear-psm.py] \
        [--out work_dirs/toy_world/clip/toy-world-vit.pt] [--steps 300]
"""
import argparse
import os.path as osp
import time

from mmengine.config import Config

from mmseg_maskclippp.toy_world import (PretrainConfig, ToyWorld,
                                        prepare_toy_clip)

DEFAULT_CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'toy_world', 'maskclippp_toy-vit_linear-psm.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG,
                        help='a toy-world config')
    parser.add_argument('--out', help='checkpoint file (default: the '
                        "config's toy_world.clip.checkpoint)")
    parser.add_argument('--steps', type=int, help='override the steps')
    parser.add_argument('--force', action='store_true',
                        help='pretrain even if the checkpoint is up to date')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if 'toy_world' not in cfg:
        raise KeyError(f'{args.config} is not a toy-world config: it has no '
                       'toy_world key')
    world = ToyWorld(**cfg.toy_world.world)
    params = dict(cfg.toy_world.clip.pretrain)
    if args.steps is not None:
        params['steps'] = args.steps
    out = args.out or cfg.toy_world.clip.checkpoint
    start = time.time()
    trained = prepare_toy_clip(world, PretrainConfig(**params), out,
                               log=print, force=args.force)
    print(f'{out}: ' + (f'pretrained in {time.time() - start:.0f} s'
                        if trained else 'up to date, nothing to do'))
    return out


if __name__ == '__main__':
    main()
