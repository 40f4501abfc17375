"""The main job: MaskCLIP++ end to end in the embedded toy world, on a CPU.

1. Draws the toy world's segmentation data (mmseg layout; training split of
   seen classes only) and pretrains its tiny CLIP on captions of every
   class, unless both are cached under ``work_dirs/toy_world`` for the
   same parameters (configs/toy_world/_base_/toy_world.py).
2. Fine-tunes MaskCLIP++ with GT masks of the seen classes through the
   normal configs and mmengine's Runner, once per seed, with every PSM of
   the paper's Table 1: none (<E_m, E_t>), linear maps on E_m or E_t and
   <E_m, Norm(P_t)> (these three break consistency alignment), the Linear
   PSM and the PseudoText PSM.
3. Tests each, and the frozen CLIP without a PSM, on the validation split
   (seen and unseen classes) with GT-oracle masks and with Felzenszwalb
   masks, and prints mIoU, mIoU(S), mIoU(U) and mask accuracy (with several
   seeds: every seed and their mean).
4. Writes a figure of a few validation scenes with the predictions.

Usage::

    python tools/main_job.py [--work-dir work_dirs/toy_world] [--seeds 0 1]
        [--verbose]

Results: ``<work-dir>/results.md``, ``results.json``, ``predictions.png``.
"""
import argparse
import json
import logging
import os
import os.path as osp
import time

import mmcv
import torch
from mmengine.config import Config

from mmseg_maskclippp.engine import build_runner
from mmseg_maskclippp.toy_world.evaluation import PredictionRecorder
from mmseg_maskclippp.toy_world.figure import save_prediction_figure
from mmseg_maskclippp.toy_world.runs import (CONFIG_DIR, name_run, prepare,
                                             run_config, scenes_with_unseen,
                                             train)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: (row name, config, fine-tuned?): the rows of the paper's Table 1
MODELS = [
    ('frozen CLIP, no PSM', 'frozen-clip_toy-vit.py', False),
    ('MaskCLIP++, Linear PSM', 'maskclippp_toy-vit_linear-psm.py', True),
    ('MaskCLIP++, PseudoText PSM', 'maskclippp_toy-vit_pseudo-text-psm.py',
     True),
    ('fine-tuned, no PSM <E_m, E_t>', 'maskclippp_toy-vit_no-psm.py', True),
    ('fine-tuned, linear on E_m (not consistent)',
     'maskclippp_toy-vit_linear-mask-embedding-psm.py', True),
    ('fine-tuned, linear on E_t (not consistent)',
     'maskclippp_toy-vit_linear-text-embedding-psm.py', True),
    ('fine-tuned, <E_m, Norm(P_t)> (not consistent)',
     'maskclippp_toy-vit_pseudo-text-psm_no-text-residual.py', True),
]
#: (column name, mask generator)
GENERATORS = [
    ('GT masks', dict(type='GTMaskGenerator')),
    # the project's class-agnostic Felzenszwalb base: on the toy world its
    # segments, each labelled with its majority GT class, reach 82 mIoU
    ('Felzenszwalb',
     Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'generators',
                              'felzenszwalb.py')).mask_generator),
]
#: metric keys of OpenVocabIoUMetric and (GT masks only) MaskAccuracyMetric
COLUMNS = ('mIoU', 'mIoU(S)', 'mIoU(U)', 'MaskAcc', 'mMaskAcc(S)',
           'mMaskAcc(U)')
#: validation scenes shown in the figure
NUM_FIGURE_SCENES = 4


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/toy_world')
    parser.add_argument(
        '--seeds', type=int, nargs='+', default=[0],
        help='fine-tune every model once per seed (default: 0)')
    parser.add_argument('--verbose', action='store_true',
                        help="show the Runner's logs on the console")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f'[main job {time.strftime("%H:%M:%S")}] {message}', flush=True)


def evaluate(cfg: Config, checkpoint, generator: dict, keep):
    """Test a model with a mask generator: the seen / unseen metrics (mask
    accuracy too with GT masks) and the kept predicted maps."""
    cfg = cfg.copy()
    cfg.model.mask_generator = generator
    cfg.load_from = checkpoint
    if generator['type'] != 'GTMaskGenerator':  # no GT masks to score
        cfg.test_evaluator = [
            m for m in cfg.test_evaluator if m.type != 'MaskAccuracyMetric'
        ]
    name_run(cfg, f'{generator["type"]}')
    runner = build_runner(cfg)
    recorder = PredictionRecorder(keep=keep)
    runner.register_hook(recorder)
    metrics = runner.test()
    return {c: metrics.get(c) for c in COLUMNS}, recorder.kept


def with_seed_means(results):
    """The result rows plus, after the rows of a model and mask generator
    run with several seeds, a row of their means (seed ``'mean'``)."""
    out, groups = [], {}
    for row in results:
        groups.setdefault((row['model'], row['masks']), []).append(row)
    for (model, masks), rows in groups.items():
        out.extend(rows)
        if len(rows) > 1:
            mean = {
                c: (None if rows[0][c] is None else
                    sum(r[c] for r in rows) / len(rows))
                for c in COLUMNS
            }
            out.append(dict(model=model, masks=masks, seed='mean', **mean))
    return out


def markdown_table(results) -> str:
    fmt = lambda v: '–' if v is None else f'{v:.1f}'  # noqa: E731
    lines = ['| model | masks | seed | ' + ' | '.join(COLUMNS) + ' |',
             '|---|---|---|' + '---:|' * len(COLUMNS)]
    for row in with_seed_means(results):
        seed = '–' if row['seed'] is None else row['seed']
        lines.append(f'| {row["model"]} | {row["masks"]} | {seed} | ' +
                     ' | '.join(fmt(row[c]) for c in COLUMNS) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if not args.verbose:  # open_clip reports on the root logger
        logging.getLogger().setLevel(logging.ERROR)
    os.chdir(ROOT)  # the configs name their files relative to the repo
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    job_start = time.time()
    base = run_config(osp.join(CONFIG_DIR, MODELS[0][1]), args.work_dir,
                      args.verbose)
    world = prepare(base, log)
    keep = scenes_with_unseen(base.toy_world.data.root, world,
                              NUM_FIGURE_SCENES)
    results, kept, timings = [], {}, {}
    # the frozen model has nothing to draw: it is tested once
    runs = [(model, config, trains, seed) for model, config, trains in MODELS
            for seed in (args.seeds if trains else [None])]
    for model_name, config, trains, seed in runs:
        cfg = run_config(osp.join(CONFIG_DIR, config), args.work_dir,
                         args.verbose, seed)
        run_name = model_name if seed is None else f'{model_name}, seed {seed}'
        checkpoint = None
        if trains:
            start = time.time()
            checkpoint = train(cfg)
            timings[f'fine-tune {run_name}'] = time.time() - start
            log(f'fine-tuned {run_name} in {time.time() - start:.0f} s')
        for masks, generator in GENERATORS:
            start = time.time()
            scores, maps = evaluate(cfg, checkpoint, generator, keep)
            timings[f'test {run_name}, {masks}'] = time.time() - start
            if seed in (None, args.seeds[0]):
                kept[(model_name, masks)] = maps
            results.append(
                dict(model=model_name, masks=masks, seed=seed, **scores))
            log(f'{run_name}, {masks}: ' + ', '.join(
                f'{c} {scores[c]:.1f}' for c in COLUMNS
                if scores[c] is not None))
    table = markdown_table(results)
    total = time.time() - job_start
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=with_seed_means(results), seeds=args.seeds,
                       seconds=timings, total_seconds=total), f, indent=2)
    figure = osp.join(args.work_dir, 'predictions.png')
    data_root = base.toy_world.data.root
    save_prediction_figure(
        figure, world,
        [mmcv.imread(osp.join(data_root, 'img_dir', 'val', n),
                     channel_order='rgb') for n in keep],
        [mmcv.imread(osp.join(data_root, 'ann_dir', 'val', n),
                     flag='unchanged') for n in keep],
        {
            'frozen CLIP\n(GT masks)':
            [kept[(MODELS[0][0], 'GT masks')][n] for n in keep],
            'MaskCLIP++ Linear PSM\n(GT masks)':
            [kept[(MODELS[1][0], 'GT masks')][n] for n in keep],
            'MaskCLIP++ Linear PSM\n(Felzenszwalb)':
            [kept[(MODELS[1][0], 'Felzenszwalb')][n] for n in keep],
        })
    print()
    print(f'Toy world: {world.num_classes} classes, '
          f'{len(world.unseen_classes)} unseen '
          f'({", ".join(world.class_names[c] for c in world.unseen_classes)})')
    print(table)
    print(f'\nMaskAcc: GT masks classified correctly; mMaskAcc(S/U): mean '
          'per-class accuracy over seen / unseen classes (GT-mask rows); '
          'seed: fine-tuning seed. '
          f'Whole job {total:.0f} s. Figure: {figure}')
    return results


if __name__ == '__main__':
    main()
