"""Cost of mask embeddings against a plain CLIP image forward.

For every CLIP family, times (and on CUDA, measures the peak memory of) the
standard CLIP image embedding of a batch and the MaskCLIP++ mask embeddings
(encoder + mask-pooling neck) of Q masks per image on the same batch, and
prints the ratios. Targets (issue "CLIP side"): at Q = 250 ConvNeXt <= 1.05x
the plain forward, ViT and ResNet <= 1.3x.

    python tools/benchmark_mask_embeddings.py                 # GPU if any
    python tools/benchmark_mask_embeddings.py --device cpu \
        --models convnext_base_w_320:1024 --masks 10 100

Weights are random (``pretrained=None``): speed does not depend on them.
Each model runs at the size that gives the paper's 32 x 32 feature grid,
unless ``name:size`` says otherwise.
"""
import argparse
import math
import statistics
import time
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F

import mmseg_maskclippp  # noqa: F401
from mmseg_maskclippp.models.necks import neck_args_for
from mmseg_maskclippp.registry import MODELS

#: open_clip model -> input size for a 32 x 32 grid (the paper's setting)
DEFAULT_MODELS = {
    'convnext_base_w_320': 1024,
    'ViT-B-16': 512,
    'EVA02-B-16': 512,
    'RN50x16': 1024,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--models', nargs='+',
        default=[f'{k}:{v}' for k, v in DEFAULT_MODELS.items()],
        help='open_clip model names, optionally name:input_size')
    parser.add_argument('--masks', nargs='+', type=int,
                        default=[10, 100, 250], help='masks per image (Q)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--fp16', action='store_true',
                        help='run under autocast (as AMP training does)')
    return parser.parse_args(argv)


def random_masks(num: int, size: int, device, generator) -> torch.Tensor:
    """(Q, size, size) binary masks of random blobs at 1/32 resolution."""
    coarse = torch.rand(num, 1, size // 32, size // 32, generator=generator)
    masks = F.interpolate(coarse, size=(size, size), mode='bilinear',
                          align_corners=False)[:, 0]
    return (masks > 0.6).float().to(device)


def measure(fn: Callable[[], object], args) -> Dict[str, float]:
    """Median wall time (ms) over ``repeats`` and, on CUDA, the peak memory
    (MiB) above what was allocated before the call."""
    cuda = args.device.startswith('cuda')
    for _ in range(args.warmup):
        fn()
    times = []
    peak = float('nan')
    if cuda:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.repeats):
        start = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    if cuda:
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    return dict(ms=statistics.median(times), mib=peak)


def benchmark_model(name: str, size: int, args) -> List[Dict]:
    backbone = MODELS.build(
        dict(type='OpenCLIPVisual', model_name=name, pretrained=None))
    backbone.to(args.device).eval()
    neck = MODELS.build(
        dict(type='MaskPoolingNeck', **neck_args_for(backbone)))
    neck.to(args.device).eval()
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(args.batch_size, 3, size, size, generator=gen)
    images = images.to(args.device)

    def run(fn):
        def call():
            with torch.no_grad(), torch.autocast(
                    args.device.split(':')[0], enabled=args.fp16):
                return fn()
        return call

    plain = measure(run(lambda: backbone.image_embedding(images)), args)
    rows = []
    for q in args.masks:
        masks = [random_masks(q, size, args.device, gen)
                 for _ in range(args.batch_size)]
        cost = measure(
            run(lambda: neck(backbone(images), masks, backbone)), args)
        rows.append(
            dict(model=name, family=type(backbone).__name__, size=size, q=q,
                 plain_ms=plain['ms'], masks_ms=cost['ms'],
                 time_ratio=cost['ms'] / plain['ms'],
                 plain_mib=plain['mib'], masks_mib=cost['mib'],
                 mem_ratio=cost['mib'] / plain['mib']))
    return rows


def _num(value: float, digits: int) -> str:
    return '-' if math.isnan(value) else f'{value:.{digits}f}'


def format_table(rows: List[Dict]) -> str:
    """A markdown table; memory columns read '-' off CUDA."""
    header = ('model', 'family', 'size', 'Q', 'plain ms', 'masks ms',
              'time x', 'plain MiB', 'masks MiB', 'memory x')
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['family']} | {r['size']} | {r['q']} | "
            f"{r['plain_ms']:.1f} | {r['masks_ms']:.1f} | "
            f"{r['time_ratio']:.2f} | {_num(r['plain_mib'], 0)} | "
            f"{_num(r['masks_mib'], 0)} | {_num(r['mem_ratio'], 2)} |")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    rows = []
    for spec in args.models:
        name, _, size = spec.partition(':')
        rows += benchmark_model(name, int(size or DEFAULT_MODELS[name]),
                                args)
    device = torch.cuda.get_device_name(args.device) \
        if args.device.startswith('cuda') else 'cpu'
    print(f'device: {device}, batch {args.batch_size}, '
          f'{"fp16 autocast" if args.fp16 else "fp32"}, median of '
          f'{args.repeats}')
    print(format_table(rows))
    return rows


if __name__ == '__main__':
    main()
