"""The command-line tools: train, test, distributed launch, mim."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from data_fixtures import cpu_config, write_ade20k, write_coco_stuff
from test_training import small_validation

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


def test_train_then_test(config_file):
    path, work = config_file
    train_tool.main([path, '--work-dir', work])
    ckpt = osp.join(work, 'iter_1.pth')
    assert osp.isfile(ckpt)
    metrics = test_tool.main([path, '--checkpoint', ckpt, '--work-dir', work])
    assert 0 <= metrics['mIoU'] <= 100


def test_missing_checkpoint_argument_is_an_error(config_file, capsys):
    with pytest.raises(SystemExit):
        test_tool.main([config_file[0]])
    assert 'checkpoint' in capsys.readouterr().err


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
    torch.load(osp.join(str(tmp_path), 'iter_1.pth'), weights_only=False)
