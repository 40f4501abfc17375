"""The package installs, registers its components and loads every config."""
import glob
import os.path as osp
import subprocess
import sys

import pytest
from mmengine import Config

import mmseg_maskclippp
from mmseg_maskclippp.registry import DATASETS, METRICS, MODELS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

COMPONENTS = {
    MODELS: [
        'MaskCLIPpp', 'OpenCLIPVisual', 'CLIPConvNeXt', 'CLIPViT',
        'CLIPEVAViT', 'CLIPResNet', 'MaskPoolingNeck',
        'OpenCLIPTextClassifier', 'LinearPSM', 'PseudoTextPSM',
        'MeanTemplatePSM', 'LinearMaskEmbeddingPSM', 'LinearTextEmbeddingPSM',
        'ReweightedCrossEntropyLoss', 'MaskCLIPDataPreProcessor',
        'GTMaskGenerator'
    ],
    TRANSFORMS: ['GenerateGTMasks', 'PackMaskCLIPInputs'],
}


def test_version():
    assert mmseg_maskclippp.__version__.count('.') == 2


@pytest.mark.parametrize(
    'registry,name',
    [(reg, name) for reg, names in COMPONENTS.items() for name in names])
def test_component_is_registered(registry, name):
    assert registry.get(name) is not None, f'{name} not in {registry.name}'


def test_registries_are_mmsegs():
    from mmseg import registry as mmseg_registry
    assert MODELS is mmseg_registry.MODELS
    assert DATASETS is mmseg_registry.DATASETS
    assert METRICS is mmseg_registry.METRICS


CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True))


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_loads(path):
    cfg = Config.fromfile(path)
    if '_base_' in osp.relpath(path, ROOT).split(osp.sep):
        return
    # every full config imports the plugin (directly or through _base_)
    assert 'mmseg_maskclippp' in cfg.custom_imports['imports']
    assert cfg.default_scope == 'mmseg'
    assert cfg.model.type == 'MaskCLIPpp'


def test_leaf_configs_name_their_paper_row():
    leaves = [p for p in CONFIGS if '_base_' not in p.split(osp.sep)]
    assert leaves
    for path in leaves:
        with open(path) as f:
            first = f.readline()
        assert first.startswith('#') and len(first) > 20, (
            f'{path}: the first line must say which paper row it reproduces')


@pytest.mark.slow  # a subprocess
def test_check_env_prints_versions():
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'check_env.py')],
        capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    for name in ('torch', 'mmcv', 'mmsegmentation', 'mmdet',
                 'open_clip_torch', 'mmcv.ops'):
        assert name in out.stdout
    assert 'compiled ops load' in out.stdout
