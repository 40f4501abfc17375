"""tools/benchmark_inference.py on tiny models: every stage runs, its
check holds (same labels, the optimised path equal to the reference) and
the table has its rows. No timing asserts: the numbers are for people."""
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))

import benchmark_inference as bench  # noqa: E402


def test_every_stage_runs_and_checks_its_result(capsys, monkeypatch):
    # keep glibc's settings of the test process as they are
    monkeypatch.setattr(bench, 'return_large_blocks_to_the_system',
                        lambda: True)
    rows = bench.main([
        '--devices', 'cpu', '--classes', '5', '--synonyms', '7',
        '--templates', 't14', '--masks', '3', '--image-size', '16', '20',
        '--linear-model', 'test-vit', '--linear-width', '8',
        '--pseudotext-model', 'test-convnext', '--grid', '2',
        '--text-model', 'test-vit', '--sentences', '5', '--repeats', '1',
        '--warmup', '0'
    ])
    assert [r['stage'] for r in rows] == list(bench.STAGES)
    for r in rows:
        assert r['ref_ms'] > 0 and r['opt_ms'] > 0
        assert r['ref_mib'] >= 0 and r['opt_mib'] >= 0
    checks = {r['stage']: r['check'] for r in rows}
    assert checks['semantic'] == 'labels identical'
    for stage in ('psm-linear', 'psm-pseudotext', 'text'):
        diff = float(checks[stage].rsplit(' ', 1)[-1])
        assert diff < 1e-4, (stage, checks[stage])
    table = capsys.readouterr().out.split('K = 5, Ka = 7')[-1]
    assert table.count('| cpu | fp32 |') == len(bench.STAGES)
