"""Evaluate a MaskCLIP++ checkpoint (the same as ``mim test mmseg``).

    python tools/test.py configs/benchmarks/<config>.py --checkpoint ckpt.pth
    bash tools/dist_test.sh configs/benchmarks/<config>.py ckpt.pth 2
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from mmseg_maskclippp.engine import build_runner


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate MaskCLIP++')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file')
    parser.add_argument('--checkpoint', dest='checkpoint_opt',
                        help='checkpoint file (as mim test passes it)')
    parser.add_argument('--work-dir', help='logs and metrics go here')
    parser.add_argument('--out', help='save the predictions (pickle) here')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. model.ensemble.gamma=0.1')
    parser.add_argument(
        '--unsafe-load', action='store_true',
        help='unpickle checkpoints fully (runs code a crafted file holds): '
        'only for files you trust; by default they load weights-only')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    args.checkpoint = args.checkpoint_opt or args.checkpoint
    if args.checkpoint is None:
        parser.error('give the checkpoint to evaluate')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.unsafe_load:
        cfg.allow_unsafe_pickle = True
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.out:
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='DumpResults', out_file_path=args.out))
    return build_runner(cfg).test()


if __name__ == '__main__':
    main()
