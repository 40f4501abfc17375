"""tools/benchmark_mask_embeddings.py runs for every family (no timing
asserts: the numbers are for people, the table is what is checked)."""
import math
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))

import benchmark_mask_embeddings as bench  # noqa: E402


def test_table_has_a_row_per_model_and_mask_count(capsys):
    rows = bench.main([
        '--device', 'cpu', '--models', 'test-convnext:64', 'test-vit:64',
        'test-eva:64', 'test-resnet:64', '--masks', '2', '5', '--repeats',
        '1', '--warmup', '0'
    ])
    assert [(r['model'], r['q']) for r in rows] == [
        (m, q) for m in ('test-convnext', 'test-vit', 'test-eva',
                         'test-resnet') for q in (2, 5)
    ]
    for r in rows:
        assert r['plain_ms'] > 0 and r['masks_ms'] > 0
        assert math.isclose(r['time_ratio'], r['masks_ms'] / r['plain_ms'])
        assert math.isnan(r['plain_mib'])  # peak memory is measured on CUDA
    out = capsys.readouterr().out
    assert out.count('| test-') == len(rows)
    assert '| CLIPEVAViT | 64 | 5 |' in out


def test_random_masks_are_binary_blobs():
    import torch
    masks = bench.random_masks(4, 64, 'cpu', torch.Generator().manual_seed(0))
    assert masks.shape == (4, 64, 64)
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    assert 0 < masks.mean() < 1
