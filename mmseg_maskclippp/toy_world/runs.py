"""Running the toy-world configs as the main job does: their data and toy
CLIP prepared, runner configs with a work dir each, training with progress
reports.

The main job (``tools/main_job.py``) trains and tests every toy config; the
web demo (``tools/web_demo.py``) serves :data:`DEFAULT_CONFIG`, training it
first when its checkpoint is missing. Config paths are relative to the
repository root, as the configs name their files.
"""
import os
import os.path as osp
import time
from typing import Callable, List, Optional

import mmcv
from mmengine.config import Config
from mmengine.hooks import Hook

from ..engine import build_runner
from .pretrain import PretrainConfig, prepare_toy_clip
from .segmentation_data import prepare_segmentation_dataset
from .world import ToyWorld

CONFIG_DIR = osp.join('configs', 'toy_world')
#: the embedded default model: MaskCLIP++ with the Linear PSM
DEFAULT_CONFIG = osp.join(CONFIG_DIR, 'maskclippp_toy-vit_linear-psm.py')
DEFAULT_WORK_DIR = osp.join('work_dirs', 'toy_world')

Log = Callable[[str], None]


def run_config(config: str, work_dir: str = DEFAULT_WORK_DIR,
               verbose: bool = False, seed: Optional[int] = None) -> Config:
    """A toy config ready for a Runner: its work dir
    ``<work_dir>/<config name>`` (``_seed<seed>`` added when ``seed`` is
    given, which also sets the run's random seed), the Runner's logs on the
    console only when ``verbose``, no validation while training (the main
    job tests every model itself)."""
    cfg = Config.fromfile(config)
    stem = osp.splitext(osp.basename(config))[0]
    cfg.work_dir = osp.join(work_dir, stem)
    if seed is not None:
        cfg.randomness.seed = seed
        cfg.work_dir += f'_seed{seed}'
    # the logs (with every warning) go to the work dirs; the console shows
    # the job's progress
    cfg.log_level = 'INFO' if verbose else 'ERROR'
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters + 1
    return cfg


def name_run(cfg: Config, what: str) -> None:
    """A distinct experiment (log folder) and visualizer name for each
    runner of one process."""
    cfg.experiment_name = f'{osp.basename(cfg.work_dir)}_{what}_' \
        f'{time.strftime("%Y%m%d_%H%M%S")}'
    cfg.visualizer.name = cfg.experiment_name


def prepare(cfg: Config, log: Log = print) -> ToyWorld:
    """Draw the data and pretrain the toy CLIP of ``cfg.toy_world`` unless
    cached."""
    world = ToyWorld(**cfg.toy_world.world)
    data = cfg.toy_world.data
    start = time.time()
    if prepare_segmentation_dataset(world, data.root, data.num_train,
                                    data.num_val, data.seed):
        log(f'drew {data.num_train} training and {data.num_val} validation '
            f'scenes into {data.root} in {time.time() - start:.0f} s')
    else:
        log(f'using the cached data in {data.root}')
    clip = cfg.toy_world.clip
    start = time.time()
    if prepare_toy_clip(world, PretrainConfig(**clip.pretrain),
                        clip.checkpoint, log=log):
        log(f'pretrained the toy CLIP in {time.time() - start:.0f} s')
    else:
        log(f'using the cached toy CLIP {clip.checkpoint}')
    return world


def scenes_with_unseen(data_root: str, world: ToyWorld,
                       num: int) -> List[str]:
    """File names of the first ``num`` validation scenes that show an
    unseen class."""
    unseen = set(world.unseen_classes)
    ann_dir = osp.join(data_root, 'ann_dir', 'val')
    names = []
    for name in sorted(os.listdir(ann_dir)):
        gt = mmcv.imread(osp.join(ann_dir, name), flag='unchanged')
        if unseen & set(gt.flatten().tolist()):
            names.append(name)
        if len(names) == num:
            break
    return names


def checkpoint_of(cfg: Config) -> str:
    """The checkpoint a training run of ``cfg`` ends with."""
    return osp.join(cfg.work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')


class ProgressHook(Hook):
    """Reports the training iteration every ``interval`` iterations."""

    priority = 'LOW'

    def __init__(self, log: Log, interval: int = 25):
        self.log = log
        self.interval = interval

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        done = runner.iter + 1
        if done % self.interval == 0 or done == runner.max_iters:
            loss = (outputs or {}).get('loss')
            self.log(f'fine-tuning iteration {done}/{runner.max_iters}' +
                     ('' if loss is None else f', loss {float(loss):.3f}'))


def train(cfg: Config, log: Optional[Log] = None) -> str:
    """Train ``cfg`` (from :func:`run_config`) with the Runner, reporting
    progress to ``log`` if given; returns the final checkpoint."""
    name_run(cfg, 'train')
    runner = build_runner(cfg)
    if log is not None:
        runner.register_hook(ProgressHook(log))
    runner.train()
    return checkpoint_of(cfg)
