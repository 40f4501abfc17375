"""docs/own_dataset.md, followed block by block: its files are written and
its commands run as a reader would, in a scratch copy of the repository's
layout, so the page cannot rot."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOC = osp.join(ROOT, 'docs', 'own_dataset.md')
#: a fenced block the test follows: ```<lang> file=<path> (written) or
#: ```<lang> run (run with bash from the repository root)
BLOCK = re.compile(r'^```(\w+) (file=(\S+)|run)\n(.*?)^```$', re.M | re.S)

pytestmark = pytest.mark.slow  # trains and tests through the tools


def doc_steps():
    with open(DOC, encoding='utf-8') as f:
        text = f.read()
    return [(m.group(3), m.group(4)) for m in BLOCK.finditer(text)]


def test_the_doc_has_the_steps_the_test_follows():
    steps = doc_steps()
    files = [path for path, _ in steps if path]
    assert files == [
        'make_dataset.py', 'configs/my_dataset/my-clip.json',
        'configs/my_dataset/maskclippp_my-clip_my-dataset.py'
    ]
    commands = '\n'.join(body for path, body in steps if not path)
    assert 'python tools/train.py' in commands
    assert 'python tools/test.py' in commands


def test_the_walkthrough_trains_and_evaluates(tmp_path):
    # the repository's layout: its tools and config bases, nothing else
    os.makedirs(tmp_path / 'configs')
    os.symlink(osp.join(ROOT, 'configs', '_base_'),
               tmp_path / 'configs' / '_base_')
    os.symlink(osp.join(ROOT, 'tools'), tmp_path / 'tools')
    env = dict(
        os.environ,
        PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
        PYTHONPATH=ROOT,
        OMP_NUM_THREADS='1')
    output = []
    for path, body in doc_steps():
        if path:
            os.makedirs(osp.dirname(tmp_path / path), exist_ok=True)
            (tmp_path / path).write_text(body)
            continue
        result = subprocess.run(
            ['bash', '-euo', 'pipefail', '-c', body], cwd=tmp_path, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert result.returncode == 0, result.stdout[-3000:]
        output.append(result.stdout)
    data = tmp_path / 'data' / 'my_dataset'
    assert (data / 'train' / 'vocabulary.txt').read_text().split() == [
        '0:sky', '1:grass', '2:sand']
    assert len(os.listdir(data / 'test' / 'labels')) == 8
    assert (tmp_path / 'work_dirs' / 'my_dataset' / 'iter_3.pth').is_file()
    # the test command reports all, seen and unseen (water) classes
    log = output[-1]
    for metric in ('mIoU:', 'mIoU(S):', 'mIoU(U):', 'mMaskAcc:'):
        assert metric in log, log[-3000:]
    assert re.search(r'\|\s*water\s*\|', log), log[-3000:]
