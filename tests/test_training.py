"""Training and evaluation through mmengine's Runner with the real configs
(tiny random CLIPs, generated data), exact resumption, and learning on a
fixed batch."""
import copy
import os.path as osp
import pickle

import pytest
import torch

from conftest import batch, make_segmentor
from data_fixtures import (cpu_config, small_validation, write_ade20k,
                           write_coco_panoptic, write_coco_stuff)
from mmseg_maskclippp.apis import init_segmentor, read_checkpoint
from mmseg_maskclippp.engine import build_runner
from mmseg_maskclippp.utils import (RUNNER_CHECKPOINT_GLOBALS,
                                    checkpoint_loading)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    return dict(
        coco_stuff=write_coco_stuff(str(root / 'coco_stuff')),
        coco=write_coco_panoptic(str(root / 'coco')),
        ade=write_ade20k(str(root / 'ade')))


@pytest.mark.slow  # a training run
@pytest.mark.parametrize('config,model_name,train_data,crop', [
    ('maskclippp_convnext_b_coco-stuff.py', 'test-convnext', 'coco_stuff',
     (64, 64)),
    ('maskclippp_eva02-b16_coco-panoptic.py', 'test-eva', 'coco', (32, 32)),
])
def test_runner_trains_evaluates_and_resumes(config, model_name, train_data,
                                             crop, data, tmp_path):
    cfg = cpu_config(
        osp.join(ROOT, 'configs', config), model_name, str(tmp_path),
        data[train_data], data['ade'], iters=2, crop_size=crop)
    small_validation(cfg)
    runner = build_runner(cfg)
    model = runner.train()
    assert osp.isfile(osp.join(str(tmp_path), 'iter_2.pth'))
    metrics = runner.val_loop.run()
    assert 0 <= metrics['mIoU'] <= 100
    # resume continues from iteration 2 with the same weights
    cfg.train_cfg.max_iters = 3
    cfg.param_scheduler[0].T_max = cfg.param_scheduler[0].end = 3
    cfg.resume = True
    cfg.load_from = osp.join(str(tmp_path), 'iter_2.pth')
    resumed = build_runner(cfg)
    resumed.train()
    assert resumed.iter == 3
    state = read_checkpoint(osp.join(str(tmp_path), 'iter_2.pth'))
    assert set(state) == set(model.state_dict())


def six_iteration_config(data, work_dir):
    """COCO-Stuff (classes with synonyms: a random draw per iteration) with
    the PseudoText PSM (attention dropout), 6 iterations, checkpoints at 3
    and 6, a fixed seed, no validation."""
    cfg = cpu_config(
        osp.join(ROOT, 'configs', 'maskclippp_convnext_b_coco-stuff.py'),
        'test-convnext', work_dir, data['coco_stuff'], data['ade'], iters=6,
        crop_size=(64, 64))
    cfg.default_hooks.checkpoint.interval = 3
    cfg.randomness = dict(seed=0)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    return cfg


@pytest.fixture(scope='module')
def six_iterations(data, tmp_path_factory):
    """An uninterrupted 6-iteration run: its config and work dir."""
    work_dir = str(tmp_path_factory.mktemp('six_iterations'))
    cfg = six_iteration_config(data, work_dir)
    build_runner(copy.deepcopy(cfg)).train()
    return cfg, work_dir


@pytest.mark.slow  # a training run
def test_resume_continues_exactly(six_iterations, tmp_path):
    cfg, work_dir = six_iterations
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = str(tmp_path)
    cfg.model.text_encoder.cache_dir = str(tmp_path / 'text_cache')
    cfg.resume = True
    cfg.load_from = osp.join(work_dir, 'iter_3.pth')
    build_runner(cfg).train()
    third = read_checkpoint(osp.join(work_dir, 'iter_3.pth'))
    uninterrupted = read_checkpoint(osp.join(work_dir, 'iter_6.pth'))
    resumed = read_checkpoint(osp.join(str(tmp_path), 'iter_6.pth'))
    assert set(resumed) == set(uninterrupted)
    changed = [k for k in third if not torch.equal(third[k],
                                                   uninterrupted[k])]
    assert changed  # iterations 4-6 trained something
    different = [k for k in uninterrupted
                 if not torch.equal(resumed[k], uninterrupted[k])]
    assert different == []


@pytest.mark.slow  # a training run
def test_runner_checkpoints_need_every_allowed_global(six_iterations):
    path = osp.join(six_iterations[1], 'iter_3.pth')
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(path)  # torch's default weights-only load, no allowlist
    with checkpoint_loading():
        assert torch.load(path)['meta']['iter'] == 3
    for i, left_out in enumerate(RUNNER_CHECKPOINT_GLOBALS):
        rest = RUNNER_CHECKPOINT_GLOBALS[:i] + \
            RUNNER_CHECKPOINT_GLOBALS[i + 1:]
        with pytest.raises(pickle.UnpicklingError, match=left_out.__name__):
            with torch.serialization.safe_globals(rest):
                torch.load(path)


@pytest.mark.slow  # a training run
def test_runner_checkpoints_load_for_inference(six_iterations):
    """Our init_segmentor and mmseg's init_model (in our context) give the
    trained weights."""
    from mmseg.apis import init_model
    cfg, work_dir = six_iterations
    path = osp.join(work_dir, 'iter_6.pth')
    state = read_checkpoint(path)
    ours = init_segmentor(
        cfg, path, mask_generator=dict(type='FelzenszwalbMaskGenerator'))
    with checkpoint_loading():
        theirs = init_model(copy.deepcopy(cfg), path, device='cpu')
    for model in (ours, theirs):
        for key, value in model.state_dict().items():
            assert torch.equal(value, state[key]), key


@pytest.mark.slow  # training dynamics
@pytest.mark.parametrize('model_name,decode_head', [
    ('test-convnext', dict(type='PseudoTextPSM', num_heads=2)),
    ('test-vit', dict(type='LinearPSM', width=16)),
])
def test_loss_falls_on_a_fixed_batch(model_name, decode_head):
    torch.manual_seed(0)
    model = make_segmentor(model_name, decode_head=decode_head).train()
    data = batch(model)
    optim = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=2e-3)
    losses = []
    for _ in range(20):
        loss = sum(model(**data, mode='loss').values())
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0], losses
