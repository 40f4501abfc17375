"""Training and evaluation through mmengine's Runner with the real configs
(tiny random CLIPs, generated data), and learning on a fixed batch."""
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from conftest import make_segmentor
from data_fixtures import (cpu_config, write_ade20k, write_coco_panoptic,
                           write_coco_stuff)
from test_segmentor import batch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    return dict(
        coco_stuff=write_coco_stuff(str(root / 'coco_stuff')),
        coco=write_coco_panoptic(str(root / 'coco')),
        ade=write_ade20k(str(root / 'ade')))


def small_validation(cfg):
    """Validate at a small size: the real pipeline upsamples to 1024."""
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.pipeline[1] = dict(
            type='ResizeShortestEdge', scale=48, max_size=128)


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
    runner = Runner.from_cfg(cfg)
    model = runner.train()
    assert osp.isfile(osp.join(str(tmp_path), 'iter_2.pth'))
    metrics = runner.val_loop.run()
    assert 0 <= metrics['mIoU'] <= 100
    # resume continues from iteration 2 with the same weights
    cfg.train_cfg.max_iters = 3
    cfg.param_scheduler[0].T_max = cfg.param_scheduler[0].end = 3
    cfg.resume = True
    cfg.load_from = osp.join(str(tmp_path), 'iter_2.pth')
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert resumed.iter == 3
    state = torch.load(osp.join(str(tmp_path), 'iter_2.pth'),
                       map_location='cpu', weights_only=False)['state_dict']
    assert set(state) == set(model.state_dict())


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
