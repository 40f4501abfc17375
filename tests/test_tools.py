"""The command-line tools: train, test, distributed launch, mim."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from crafted_checkpoint import write_crafted
from data_fixtures import (cpu_config, small_validation, write_ade20k,
                           write_coco_stuff)
from mmseg_maskclippp.apis import read_checkpoint
from mmseg_maskclippp.utils import (CheckpointMismatchError,
                                    UnsafeCheckpointError)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))

import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402


@pytest.fixture(scope='module')
def config_file(tmp_path_factory):
    """A real config made runnable here, dumped to a file."""
    root = tmp_path_factory.mktemp('tools')
    cfg = cpu_config(
        osp.join(ROOT, 'configs', 'maskclippp_convnext_b_coco-stuff.py'),
        'test-convnext', str(root / 'work'),
        write_coco_stuff(str(root / 'coco_stuff'), num=2),
        write_ade20k(str(root / 'ade'), num=1), iters=1, crop_size=(64, 64))
    small_validation(cfg)
    # the tiny CLIP configs are registered in this process only: a child
    # process finds them through the tests' sys.path entry
    cfg.custom_imports.imports = ['tiny_models_registered',
                                  'mmseg_maskclippp']
    path = str(root / 'tiny.py')
    cfg.dump(path)
    return path, str(root / 'work')


@pytest.mark.slow  # trains through tools/train.py
def test_train_then_test(config_file):
    path, work = config_file
    train_tool.main([path, '--work-dir', work])
    ckpt = osp.join(work, 'iter_1.pth')
    assert osp.isfile(ckpt)
    metrics = test_tool.main([path, '--checkpoint', ckpt, '--work-dir', work])
    assert 0 <= metrics['mIoU'] <= 100
    # a checkpoint of the same model with another PSM width
    state = read_checkpoint(ckpt)
    key = next(k for k in state if k.startswith('decode_head.'))
    state[key] = torch.zeros(*state[key].shape[:-1], 5)
    other = osp.join(work, 'other_psm.pth')
    torch.save({'state_dict': state, 'meta': {}}, other)
    with pytest.raises(RuntimeError, match=f'size mismatch for {key}'):
        test_tool.main([path, '--checkpoint', other, '--work-dir', work])


def test_test_refuses_a_checkpoint_of_another_model(config_file, tmp_path):
    path, work = config_file
    other = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {'conv.weight': torch.zeros(2, 3)},
                'meta': {}}, other)
    with pytest.raises(CheckpointMismatchError,
                       match='missing keys .*backbone.clip.*unexpected keys '
                       '\\(1\\): conv.weight'):
        test_tool.main([path, '--checkpoint', other, '--work-dir', work])


def test_test_refuses_a_crafted_checkpoint(config_file, tmp_path):
    path, work = config_file
    marker = str(tmp_path / 'ran')
    crafted = write_crafted(str(tmp_path / 'crafted.pth'), marker,
                            {'state_dict': {}})
    with pytest.raises(UnsafeCheckpointError, match='crafted.pth.*makedirs'):
        test_tool.main([path, '--checkpoint', crafted, '--work-dir', work])
    assert not osp.exists(marker)


@pytest.mark.parametrize('batch,lr', [(4, 2e-4), (2, 1e-4), (8, 4e-4)])
def test_auto_scale_lr_scales_from_the_papers_batch(config_file, batch, lr):
    """--auto-scale-lr: the lr is the paper's 2e-4 at a total batch of 4
    (here one process) and scales linearly with it, in every parameter
    group (CLIP's too)."""
    path, work = config_file
    args = train_tool.parse_args([
        path, '--work-dir', work, '--auto-scale-lr', '--cfg-options',
        f'train_dataloader.batch_size={batch}'
    ])
    cfg = train_tool.build_config(args)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=4)
    runner = Runner.from_cfg(cfg)
    optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    before = [g['lr'] for g in optim_wrapper.optimizer.param_groups]
    runner.scale_lr(optim_wrapper, runner.auto_scale_lr)
    after = [g['lr'] for g in optim_wrapper.optimizer.param_groups]
    assert max(after) == pytest.approx(lr)  # the PSM's
    assert after == pytest.approx([b * batch / 4 for b in before])


def test_auto_scale_lr_needs_the_base_batch(config_file, tmp_path):
    cfg = Config.fromfile(config_file[0])
    cfg.pop('auto_scale_lr')
    path = str(tmp_path / 'no_base.py')
    cfg.dump(path)
    with pytest.raises(ValueError, match='no_base.py has no auto_scale_lr'):
        train_tool.build_config(train_tool.parse_args([path,
                                                       '--auto-scale-lr']))
    assert not train_tool.build_config(
        train_tool.parse_args([config_file[0]])).auto_scale_lr.enable


def test_missing_checkpoint_argument_is_an_error(config_file, capsys):
    with pytest.raises(SystemExit):
        test_tool.main([config_file[0]])
    assert 'checkpoint' in capsys.readouterr().err


@pytest.mark.slow  # a subprocess
def test_mim_train_runs_our_config(config_file, tmp_path):
    path, _ = config_file
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [osp.join(ROOT, 'tests'), ROOT, os.environ.get('PYTHONPATH', '')]))
    out = subprocess.run(
        [osp.join(osp.dirname(sys.executable), 'mim'), 'train', 'mmseg', path,
         '--work-dir', str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert osp.isfile(osp.join(str(tmp_path), 'iter_1.pth'))
    assert read_checkpoint(osp.join(str(tmp_path), 'iter_1.pth'))


@pytest.mark.slow  # subprocesses
@pytest.mark.parametrize('script,args,gpus,expected', [
    ('slurm_train.sh', ['cfg.py', '--work-dir', 'w'], None,
     ['--gres=gpu:2', '--ntasks=2', '--ntasks-per-node=2',
      'train.py cfg.py --work-dir w --launcher slurm']),
    ('slurm_train.sh', ['cfg.py'], '16',
     ['--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8',
      'train.py cfg.py --launcher slurm']),
    ('slurm_test.sh', ['cfg.py', 'ckpt.pth'], None,
     ['--ntasks=2', 'test.py cfg.py ckpt.pth --launcher slurm']),
])
def test_slurm_scripts_start_one_task_per_gpu(script, args, gpus, expected,
                                              tmp_path):
    """The slurm scripts hand srun one task per GPU, 2 GPUs by default (the
    paper's batch of 4 at 2 images per GPU); a stand-in srun echoes its
    command line."""
    srun = tmp_path / 'srun'
    srun.write_text('#!/bin/sh\necho "$@"\n')
    srun.chmod(0o755)
    env = dict(os.environ, PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}')
    env.pop('GPUS', None)
    if gpus:
        env['GPUS'] = gpus
    out = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', script), 'partition', 'job', *args],
        capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip().replace(osp.join(ROOT, 'tools') + '/', '')
    assert line.startswith('-p partition --job-name=job'), line
    for part in expected:
        assert part in line, line
