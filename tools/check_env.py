"""Print the versions of the stack and check that mmcv's compiled ops load.

Exits non-zero when a required package is missing or ``mmcv.ops`` cannot be
imported (mmdet's Mask2Former needs it).
"""
import importlib
import platform
import sys


def collect_env() -> dict:
    """Versions of everything MaskCLIP++ runs on, plus the state of mmcv.ops
    and CUDA. Raises ImportError if a required package is missing."""
    import torch
    env = {
        'python': platform.python_version(),
        'torch': torch.__version__,
        'cuda available': torch.cuda.is_available(),
    }
    for name, module in [('torchvision', 'torchvision'),
                         ('mmengine', 'mmengine'), ('mmcv', 'mmcv'),
                         ('mmsegmentation', 'mmseg'), ('mmdet', 'mmdet'),
                         ('open_clip_torch', 'open_clip'), ('timm', 'timm'),
                         ('numpy', 'numpy'),
                         ('mmseg_maskclippp', 'mmseg_maskclippp')]:
        env[name] = importlib.import_module(module).__version__
    try:
        from mmcv.ops import MultiScaleDeformableAttention  # noqa: F401
        env['mmcv.ops'] = 'compiled ops load'
    except ImportError as e:
        env['mmcv.ops'] = f'NOT AVAILABLE ({e})'
    return env


def main() -> int:
    try:
        env = collect_env()
    except ImportError as e:
        print(f'missing package: {e}', file=sys.stderr)
        return 1
    width = max(len(k) for k in env)
    for key, value in env.items():
        print(f'{key:<{width}} : {value}')
    return 0 if env['mmcv.ops'] == 'compiled ops load' else 1


if __name__ == '__main__':
    sys.exit(main())
