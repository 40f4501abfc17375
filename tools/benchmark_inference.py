"""Speed and peak memory of MaskCLIP++ inference stages: the reference
(unfused) path against the optimised one, in one run.

Stages (random weights, nothing downloaded):

* ``psm-linear``: everything after CLIP for the Linear PSM: similarities,
  PSM, max over synonyms. Reference: the two layers over the (Q, Ka, T)
  similarities (``fold_inference=False``); optimised: the folded map, one
  (Q, D) x (D, Ka) product.
* ``psm-pseudotext``: the same for the PseudoText PSM. Reference: the
  (Q, Ka, T) similarities computed although the PSM never reads them (the
  segmentor before ``needs_similarities``) and the attention module run as
  it is (``fold_inference=False``); optimised: no similarities, the patch
  projection folded into the key and value projections and the query of
  the vocabulary kept between calls.
* ``semantic``: class scores x masks -> label map at the original size.
  Reference: the (K, H, W) score map, then its argmax; optimised: the
  labels a pixel chunk at a time (``semantic_labels``). Labels are checked
  to be identical.
* ``text``: encoding sentences (class names x templates). Reference: the
  full context of every sentence; optimised: sorted by length, each chunk
  cut after its longest sentence. Embeddings are checked to agree.

Each stage's reference and optimised calls alternate ``--repeats`` times;
the table gives median times, the median of the per-repeat time ratios and
the peak memory each call allocates on top of its inputs (CUDA: the
allocator's peak; CPU: the process's peak resident set, reset before the
call, with glibc returning large blocks to the system). Memory is
measured after all timings: that allocator setting maps and unmaps every
large block, which would slow the timed calls. A shared machine slows
both paths alike, so the ratios are the numbers to read.

    python tools/benchmark_inference.py                  # CPU, and CUDA
    python tools/benchmark_inference.py --devices cpu --repeats 5
    python tools/benchmark_inference.py --stages psm-linear --fp16

Defaults are the A-847 scale: K = 847 classes with 1183 synonyms, T = 14
templates (t14), Q = 250 masks, a 512 x 683 image.
"""
import argparse
import contextlib
import ctypes
import ctypes.util
import re
import statistics
import time
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F

import mmseg_maskclippp  # noqa: F401
from mmseg_maskclippp import Vocabulary
from mmseg_maskclippp.models.necks.mask_pooling import MaskEmbeddings
from mmseg_maskclippp.models.postprocessing import (semantic_inference,
                                                    semantic_labels)
from mmseg_maskclippp.registry import MODELS

STAGES = ('psm-linear', 'psm-pseudotext', 'semantic', 'text')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--stages', nargs='+', default=list(STAGES),
                        choices=STAGES)
    parser.add_argument(
        '--devices', nargs='+',
        default=['cpu'] + (['cuda'] if torch.cuda.is_available() else []))
    parser.add_argument('--fp16', action='store_true',
                        help='also run the model stages under fp16 '
                        'autocast (CUDA only)')
    parser.add_argument('--classes', type=int, default=847)
    parser.add_argument('--synonyms', type=int, default=1183)
    parser.add_argument('--templates', default='t14')
    parser.add_argument('--masks', type=int, default=250)
    parser.add_argument('--image-size', type=int, nargs=2,
                        default=[512, 683], metavar=('H', 'W'))
    parser.add_argument('--linear-model', default='ViT-B-16')
    parser.add_argument('--linear-width', type=int, default=768)
    parser.add_argument('--pseudotext-model', default='convnext_base_w_320')
    parser.add_argument('--grid', type=int, default=32,
                        help='CLIP feature grid side (PseudoText patches)')
    parser.add_argument('--text-model', default='ViT-B-16')
    parser.add_argument('--sentences', type=int, default=56,
                        help='sentences of the text stage (ADE-150 names '
                        'x templates)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    return parser.parse_args(argv)


# ----------------------------------------------------------------------
# measuring
LIBC = ctypes.CDLL(ctypes.util.find_library('c'))


def _status_kib(key: str) -> int:
    with open('/proc/self/status') as f:
        return int(re.search(rf'{key}:\s+(\d+)', f.read()).group(1))


def return_large_blocks_to_the_system() -> bool:
    """Make glibc serve blocks of 64 KiB and more with mmap (and unmap them
    when freed), so that the resident set follows what torch holds. Only
    for this benchmark process."""
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok = bool(LIBC.mallopt(m_mmap_threshold, 64 * 1024)
              and LIBC.mallopt(m_trim_threshold, 128 * 1024))
    LIBC.malloc_trim(0)  # free pages the heap already holds, too
    return ok


def peak_mib(fn: Callable[[], object], device: str) -> float:
    """Memory (MiB) allocated by one call of ``fn`` at its peak, on top of
    what was held before (its result included)."""
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    LIBC.malloc_trim(0)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset the peak resident set (VmHWM)
    base = _status_kib('VmRSS')
    fn()
    return (_status_kib('VmHWM') - base) / 1024


def _timed(fn, device) -> float:
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1e3


def compare_times(reference: Callable, optimised: Callable, device: str,
                  args) -> Dict[str, float]:
    """Alternate the two calls; median times and the median of the
    per-repeat ratios."""
    for _ in range(args.warmup):
        reference()
        optimised()
    ref_ms, opt_ms = [], []
    for _ in range(args.repeats):
        ref_ms.append(_timed(reference, device))
        opt_ms.append(_timed(optimised, device))
    return dict(
        ref_ms=statistics.median(ref_ms), opt_ms=statistics.median(opt_ms),
        speedup=statistics.median(r / o for r, o in zip(ref_ms, opt_ms)))


def compare_memory(reference: Callable, optimised: Callable,
                   device: str) -> Dict[str, float]:
    """Each call's peak memory and their ratio."""
    ref_mib = peak_mib(reference, device)
    opt_mib = peak_mib(optimised, device)
    return dict(ref_mib=ref_mib, opt_mib=opt_mib,
                mem_ratio=opt_mib / ref_mib if ref_mib > 0 else float('nan'))


# ----------------------------------------------------------------------
# inputs
def a847_like_vocabulary(classes: int, synonyms: int) -> Vocabulary:
    """``classes`` classes with ``synonyms`` synonyms in all (the first
    classes get a second synonym), like A-847's 847 / 1183."""
    if synonyms < classes:
        raise ValueError('--synonyms must be >= --classes')
    extra = synonyms - classes
    return Vocabulary.build([
        f'class {i},class {i} alt {j}' if j else f'class {i}'
        for i, j in ((i, int(i < extra)) for i in range(classes))
    ])


def build_segmentor(model_name: str, head: dict,
                    vocabulary: Vocabulary, templates: str, device: str):
    model = MODELS.build(
        dict(type='MaskCLIPpp',
             backbone=dict(type='OpenCLIPVisual', model_name=model_name),
             text_encoder=dict(type='OpenCLIPTextClassifier',
                               model_name=model_name, templates=templates,
                               cache_dir=None),
             decode_head=head,
             test_vocabulary=vocabulary))
    return model.to(device).eval()


def mask_classification_inputs(model, vocabulary, args, device, grid=None):
    """Random (Q, D) mask embeddings, (Ka, T, D) normalised text and, for a
    patch-reading PSM, the backbone's features of one image."""
    g = torch.Generator().manual_seed(0)
    dim = model.backbone.embed_dims
    embeds = MaskEmbeddings(
        embeds=torch.randn(args.masks, dim, generator=g).to(device),
        areas=torch.ones(args.masks, device=device),
        img_idx=torch.zeros(args.masks, dtype=torch.long, device=device),
        num_masks=[args.masks])
    text = F.normalize(
        torch.randn(vocabulary.num_synonyms_total,
                    len(model.text_encoder.templates), dim, generator=g),
        dim=-1).to(device)
    feats = None
    if grid is not None:
        side = grid * model.backbone.stride
        with torch.no_grad():
            feats = model.extract_feat(
                torch.rand(1, 3, side, side, generator=g).to(device) * 255)
    return embeds, feats, text


def post_clip(model, vocabulary, embeds, feats, text, autocast):
    def call():
        with torch.no_grad(), autocast():
            return model._synonym_max(
                model._psm_logits(embeds, feats, text), vocabulary)
    return call


# ----------------------------------------------------------------------
# stages
def stage_psm_linear(args, device, autocast):
    vocab = a847_like_vocabulary(args.classes, args.synonyms)
    model = build_segmentor(
        args.linear_model, dict(type='LinearPSM', width=args.linear_width),
        vocab, args.templates, device)
    embeds, feats, text = mask_classification_inputs(model, vocab, args,
                                                     device)
    head = model.decode_head

    def unfused():
        head.fold_inference = False
        return post_clip(model, vocab, embeds, feats, text, autocast)()

    def folded():
        head.fold_inference = True
        return post_clip(model, vocab, embeds, feats, text, autocast)()

    err = (folded().float() - unfused().float()).abs().max().item()
    return unfused, folded, f'max |diff| {err:.1e}'


def stage_psm_pseudotext(args, device, autocast):
    vocab = a847_like_vocabulary(args.classes, args.synonyms)
    model = build_segmentor(
        args.pseudotext_model, dict(type='PseudoTextPSM'), vocab,
        args.templates, device)
    embeds, feats, text = mask_classification_inputs(
        model, vocab, args, device, grid=args.grid)
    head = model.decode_head

    def reference():
        # the segmentor before ``needs_similarities``: S is always built;
        # the attention projects the patches and the text at every call
        head.needs_similarities = True
        head.fold_inference = False
        return post_clip(model, vocab, embeds, feats, text, autocast)()

    def optimised():
        vars(head).pop('needs_similarities', None)  # the class's False
        head.fold_inference = True
        return post_clip(model, vocab, embeds, feats, text, autocast)()

    err = (optimised().float() - reference().float()).abs().max().item()
    return reference, optimised, f'max |diff| {err:.1e}'


def stage_semantic(args, device, autocast):
    g = torch.Generator().manual_seed(0)
    h, w = args.image_size
    scores = torch.randn(args.masks, args.classes, generator=g).mul(3)
    scores = scores.softmax(-1).to(device)
    masks = torch.rand(args.masks, h, w, generator=g).to(device)

    def full_map():
        semantic = semantic_inference(scores, masks, args.classes)
        return semantic, semantic.argmax(0)

    def chunked():
        return semantic_labels(scores, masks, args.classes)

    same = torch.equal(full_map()[1], chunked())
    if not same:
        raise AssertionError('chunked semantic labels differ')
    return full_map, chunked, 'labels identical'


def stage_text(args, device, autocast):
    encoder = MODELS.build(
        dict(type='OpenCLIPTextClassifier', model_name=args.text_model,
             templates=args.templates, cache_dir=None)).to(device).eval()
    names = Vocabulary.build('ade150').synonyms
    sentences = encoder.sentences(names)[:args.sentences]

    def padded():
        with torch.no_grad():
            return torch.cat([
                encoder.clip.encode_text(
                    encoder.tokenizer(sentences[i:i + encoder.chunk_size])
                    .to(device), normalize=True)
                for i in range(0, len(sentences), encoder.chunk_size)
            ])

    def by_length():
        with torch.no_grad():
            return encoder.encode_sentences(sentences)

    err = (by_length() - padded()).abs().max().item()
    return padded, by_length, \
        f'{len(sentences)} sentences, max |diff| {err:.1e}'


RUNNERS = {
    'psm-linear': stage_psm_linear,
    'psm-pseudotext': stage_psm_pseudotext,
    'semantic': stage_semantic,
    'text': stage_text,
}


def _fmt(value: float, digits: int) -> str:
    return '-' if value != value else f'{value:.{digits}f}'


def format_table(rows: List[Dict]) -> str:
    header = ('stage', 'device', 'precision', 'reference ms',
              'optimised ms', 'speed-up', 'reference MiB', 'optimised MiB',
              'memory ratio', 'check')
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for r in rows:
        lines.append(
            f"| {r['stage']} | {r['device']} | {r['precision']} | "
            f"{r['ref_ms']:.1f} | {r['opt_ms']:.1f} | "
            f"{r['speedup']:.1f}x | {_fmt(r['ref_mib'], 1)} | "
            f"{_fmt(r['opt_mib'], 1)} | {_fmt(r['mem_ratio'], 3)} | "
            f"{r['check']} |")
    return '\n'.join(lines)


def main(argv=None) -> List[Dict]:
    args = parse_args(argv)
    rows, calls = [], []
    for device in args.devices:
        precisions = ['fp32'] + (['fp16'] if args.fp16
                                 and device.startswith('cuda') else [])
        for precision in precisions:
            for stage in args.stages:
                if precision == 'fp16' and stage == 'text':
                    continue  # the text tower always runs in fp32

                def autocast(device=device, precision=precision):
                    if precision == 'fp32':
                        return contextlib.nullcontext()
                    return torch.autocast(device.split(':')[0],
                                          dtype=torch.float16)

                reference, optimised, check = RUNNERS[stage](args, device,
                                                             autocast)
                rows.append(dict(
                    compare_times(reference, optimised, device, args),
                    stage=stage, device=device, precision=precision,
                    check=check))
                calls.append((reference, optimised, device))
    # memory last: the allocator setting that makes the CPU resident set
    # follow what torch holds (every large block mapped and unmapped)
    # would slow the timed calls
    if 'cpu' in args.devices and not return_large_blocks_to_the_system():
        print('warning: mallopt failed; CPU peak memory is approximate')
    for row, (reference, optimised, device) in zip(rows, calls):
        row.update(compare_memory(reference, optimised, device))
        print(format_table([row]).splitlines()[-1], flush=True)
    print(f'\nA-{args.classes}-like: K = {args.classes}, Ka = '
          f'{args.synonyms}, T from {args.templates}, Q = {args.masks}, '
          f'image {args.image_size[0]} x {args.image_size[1]}; median of '
          f'{args.repeats}')
    print(format_table(rows))
    return rows


if __name__ == '__main__':
    main()
