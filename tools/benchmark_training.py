"""Time of one MaskCLIP++ training step, before and after each speed-up,
in one run.

Builds the model and optimiser of a training config with random CLIP
weights (nothing downloaded) and times full steps (data preprocessing,
forward, loss, backward, gradient clipping, AdamW) on random images, each
with ``--masks`` GT masks of random classes. Variants:

* ``reference``: the config as before issue 14: ``channels_last=False``
  for a ConvNeXt backbone and AdamW's for-each implementation
  (``optimizer.fused=False``);
* ``channels_last``: ConvNeXt in channels-last memory format
  (``model.backbone.channels_last=True``);
* ``fused AdamW``: ``optimizer.fused=True`` (the configs' default now);
* ``compile``: ``torch.compile`` of the CLIP-V backbone's forward (the
  compilation happens in the warm-up steps, its time is printed);
* ``all``: channels_last and fused AdamW.

Each variant's steps alternate with the reference's, ``--repeats`` times;
the table gives the median step times and the median of the per-step
ratios; a last row times the AdamW update alone (for-each against fused,
on random gradients of the same parameters). ``--profile`` prints the
operators that dominate one reference step (torch.profiler).

    python tools/benchmark_training.py                        # ConvNeXt-B
    python tools/benchmark_training.py \
        configs/maskclippp_vit-b16_coco-panoptic.py --repeats 3
    python tools/benchmark_training.py --profile --repeats 0

It also reports the build time of the segmentor: CLIP-V and CLIP-T now
come from one open_clip model (``--variants`` with ``two-models`` builds
the towers separately, as before, for comparison).
"""
import argparse
import copy
import shutil
import statistics
import tempfile
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmseg.structures import SegDataSample

import mmseg_maskclippp  # noqa: F401
from mmseg_maskclippp.models.backbones import CLIPConvNeXt
from mmseg_maskclippp.models.backbones.open_clip_visual import visual_family
from mmseg_maskclippp.registry import MODELS

DEFAULT_CONFIG = 'configs/maskclippp_convnext_b_coco-panoptic.py'
VARIANTS = ('channels_last', 'fused AdamW', 'compile', 'all')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--image-size', type=int, default=512)
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--masks', type=int, default=20,
                        help='GT masks per image')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS),
                        choices=VARIANTS + ('two-models', ))
    parser.add_argument('--profile', action='store_true')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args(argv)


def random_batch(num_classes: int, args, seed: int = 0) -> dict:
    """Images of random colours, each split into ``--masks`` random regions
    (nearest of random centres) with random labels."""
    g = torch.Generator().manual_seed(seed)
    size = args.image_size
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size),
                            indexing='ij')
    inputs, samples = [], []
    for _ in range(args.batch_size):
        centres = torch.rand(args.masks, 2, generator=g) * size
        dist = (ys[None] - centres[:, 0, None, None])**2 + \
            (xs[None] - centres[:, 1, None, None])**2
        owner = dist.argmin(0)
        masks = owner[None] == torch.arange(args.masks)[:, None, None]
        labels = torch.randint(0, num_classes, (args.masks, ), generator=g)
        sample = SegDataSample(
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
        sample.gt_instances = InstanceData(masks=masks, labels=labels)
        inputs.append(torch.randint(0, 256, (3, size, size), generator=g,
                                    dtype=torch.uint8))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def model_config(cfg: Config, variant: str,
                 text_cache: Optional[str] = None) -> dict:
    """The config's model with random CLIP weights, set up as ``variant``
    asks; text embeddings cached in ``text_cache``."""
    model = copy.deepcopy(cfg.model)
    model.backbone.pretrained = None
    model.text_encoder.pretrained = None
    model.text_encoder.cache_dir = text_cache
    model.pop('mask_generator', None)
    if visual_family(model.backbone.model_name) is CLIPConvNeXt:
        model.backbone.channels_last = variant in ('channels_last', 'all')
    return model


class Trainee:
    """A model, its optimiser and a batch, ready to step."""

    def __init__(self, cfg: Config, variant: str, args, text_cache: str):
        torch.manual_seed(0)
        self.model = MODELS.build(model_config(cfg, variant, text_cache))
        self.model.to(args.device).train()
        optim = copy.deepcopy(cfg.optim_wrapper)
        if args.device == 'cpu' and optim.type == 'AmpOptimWrapper':
            optim.type = 'OptimWrapper'  # fp32 on CPU, both variants
        optim.optimizer.fused = variant in ('fused AdamW', 'all')
        self.optim = build_optim_wrapper(self.model, optim)
        if variant == 'compile':
            self.model.backbone.forward = torch.compile(
                self.model.backbone.forward)
        vocab = self.model.train_vocabulary
        # encode the frozen training vocabulary before timing
        self.model.text_encoder.embed(vocab)
        self.batch = random_batch(len(vocab), args)
        self.device = args.device

    def step(self) -> float:
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        self.model.train_step(self.batch, self.optim)
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
        return (time.perf_counter() - start) * 1e3


def build_seconds(cfg: Config, two_models: bool) -> float:
    """Seconds to build the segmentor (towers from one or two models)."""
    model = model_config(cfg, 'reference')
    if two_models:
        # a copy of the backbone config that does not match the text
        # encoder's, so that each tower builds its own open_clip model
        model.text_encoder.open_clip_cache_dir = '.unshared'
    start = time.perf_counter()
    MODELS.build(model)
    return time.perf_counter() - start


def compare(reference: Trainee, other: Trainee, args) -> Dict[str, float]:
    for _ in range(args.warmup):
        reference.step()
        warmup_ms = other.step()
    if args.warmup:
        print(f'first step of the variant: {warmup_ms:.0f} ms')
    ref, opt = [], []
    for _ in range(args.repeats):
        ref.append(reference.step())
        opt.append(other.step())
    return dict(ref_ms=statistics.median(ref), opt_ms=statistics.median(opt),
                speedup=statistics.median(r / o for r, o in zip(ref, opt)))


def adamw_step_ms(trainee: Trainee, fused: bool, repeats: int) -> float:
    """Median time of the AdamW update alone on ``trainee``'s parameter
    groups, with random gradients."""
    groups = [dict(g, params=[p for p in g['params'] if p.requires_grad])
              for g in trainee.optim.optimizer.param_groups]
    for group in groups:
        group.pop('fused', None)
        group.pop('foreach', None)
        for p in group['params']:
            p.grad = torch.randn_like(p)
    optimizer = torch.optim.AdamW(groups, fused=fused, foreach=not fused)
    optimizer.step()  # creates the state
    times = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        optimizer.step()
        if trainee.device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    trainee.optim.zero_grad()
    return statistics.median(times)


def profile(trainee: Trainee) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    trainee.step()
    activities = [ProfilerActivity.CPU] + (
        [ProfilerActivity.CUDA] if trainee.device.startswith('cuda') else [])
    with torch_profile(activities=activities) as prof:
        trainee.step()
    key = 'cuda_time_total' if trainee.device.startswith('cuda') \
        else 'cpu_time_total'
    print(prof.key_averages().table(sort_by=key, row_limit=25))


def main(argv=None) -> List[Dict]:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope('mmseg')
    rows = []
    if 'two-models' in args.variants:
        two = statistics.median(build_seconds(cfg, True) for _ in range(3))
        one = statistics.median(build_seconds(cfg, False) for _ in range(3))
        rows.append(dict(variant='build, one open_clip model', ref_ms=two *
                         1e3, opt_ms=one * 1e3, speedup=two / one))
    text_cache = tempfile.mkdtemp(prefix='maskclippp-bench-text-')
    reference = Trainee(cfg, 'reference', args, text_cache)
    if args.profile:
        profile(reference)
    for variant in args.variants:
        if variant == 'two-models' or not args.repeats:
            continue
        other = Trainee(cfg, variant, args, text_cache)
        rows.append(dict(compare(reference, other, args), variant=variant))
        del other
    if args.repeats:
        foreach = adamw_step_ms(reference, False, args.repeats)
        fused = adamw_step_ms(reference, True, args.repeats)
        rows.append(dict(variant='AdamW update alone: fused', ref_ms=foreach,
                         opt_ms=fused, speedup=foreach / fused))
    shutil.rmtree(text_cache)
    print(f'{args.config}: {args.device}, batch {args.batch_size} x '
          f'{args.image_size}^2, {args.masks} masks per image, median of '
          f'{args.repeats}')
    print('| change | reference ms | changed ms | speed-up |')
    print('|---|---|---|---|')
    for r in rows:
        print(f"| {r['variant']} | {r['ref_ms']:.0f} | {r['opt_ms']:.0f} | "
              f"{r['speedup']:.2f}x |")
    return rows


if __name__ == '__main__':
    main()
