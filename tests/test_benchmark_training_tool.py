"""tools/benchmark_training.py on the toy world's tiny ViT: the variants
are what they say, and the table has its rows. No timing asserts."""
import os.path as osp
import sys

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))

import benchmark_training as bench  # noqa: E402

TOY = osp.join(ROOT, 'configs', 'toy_world',
               'maskclippp_toy-vit_pseudo-text-psm.py')
SMALL = ['--image-size', '32', '--batch-size', '1', '--masks', '2']


@pytest.fixture
def toy(tmp_path):
    """The toy config with its vocabularies given inline: the toy world's
    files under work_dirs/ need not exist (the CLIP weights are random)."""
    path = tmp_path / 'toy.py'
    path.write_text(f'_base_ = [{TOY!r}]\n'
                    "classes = ['red plain', 'blue dotted', 'green striped']\n"
                    'model = dict(train_vocabulary=classes, '
                    'test_vocabulary=classes)\n')
    return str(path)


def test_variants_change_what_they_name(toy, tmp_path):
    args = bench.parse_args([toy] + SMALL)
    cfg = Config.fromfile(toy)
    reference = bench.Trainee(cfg, 'reference', args, str(tmp_path))
    fused = bench.Trainee(cfg, 'fused AdamW', args, str(tmp_path))
    assert reference.optim.optimizer.defaults['fused'] is False
    assert fused.optim.optimizer.defaults['fused'] is True
    # the configs' own default is the fused AdamW now
    main = Config.fromfile(osp.join(ROOT, 'configs',
                                    'maskclippp_convnext_b_coco-panoptic.py'))
    assert main.optim_wrapper.optimizer.fused is True
    assert bench.model_config(main, 'reference').backbone.channels_last \
        is False
    assert bench.model_config(main, 'all').backbone.channels_last is True
    before = [p.detach().clone() for p in fused.model.parameters()]
    fused.step()
    assert any(not p.equal(b)
               for p, b in zip(fused.model.parameters(), before))


def test_table_has_a_row_per_variant_and_the_update_alone(toy, capsys):
    rows = bench.main([toy] + SMALL + [
        '--repeats', '1', '--warmup', '0', '--variants', 'fused AdamW',
        'all'
    ])
    assert [r['variant'] for r in rows] == [
        'fused AdamW', 'all', 'AdamW update alone: fused'
    ]
    for r in rows:
        assert r['ref_ms'] > 0 and r['opt_ms'] > 0
    out = capsys.readouterr().out
    assert out.count('| AdamW update alone: fused |') == 1
