"""Fine-tune MaskCLIP++ with a config (the same as ``mim train mmseg``).

The configs train 2 images per GPU: two GPUs give the paper's batch of 4.

    bash tools/dist_train.sh configs/maskclippp_convnext_b_coco-stuff.py 2
    python tools/train.py configs/maskclippp_convnext_b_coco-stuff.py \
        --cfg-options train_dataloader.batch_size=4
    # another total batch: scale the lr linearly from the paper's 4
    bash tools/dist_train.sh configs/maskclippp_convnext_b_coco-stuff.py 8 \
        --auto-scale-lr
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from mmseg_maskclippp.engine import build_runner


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Fine-tune MaskCLIP++')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='logs and checkpoints go here')
    parser.add_argument(
        '--resume', action='store_true',
        help='resume from the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true',
        help='mixed precision (the paper configs already use it)')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the lr linearly from the config\'s auto_scale_lr.'
        'base_batch_size (the paper\'s 4) to the batch used: GPUs x '
        'train_dataloader.batch_size')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. train_dataloader.batch_size=2')
    parser.add_argument(
        '--unsafe-load', action='store_true',
        help='unpickle checkpoints fully (runs code a crafted file holds): '
        'only for files you trust; by default they load weights-only')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args) -> Config:
    """The config to train with: the file, ``--cfg-options`` and flags."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.unsafe_load:
        cfg.allow_unsafe_pickle = True
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError(
                f'--auto-scale-lr: {args.config} has no '
                'auto_scale_lr.base_batch_size (the batch its lr is for)')
        cfg.auto_scale_lr.enable = True
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    cfg.resume = args.resume or cfg.get('resume', False)
    return cfg


def main(argv=None):
    build_runner(build_config(parse_args(argv))).train()


if __name__ == '__main__':
    main()
