"""Precomputed masks read from a folder, so that masks of any method
(FC-CLIP, MAFT+, SAM, ...) can be classified, and the class logits of
open-vocabulary generators (FC-CLIP, MAFT+) enter Eq. 4.

One file per image, ``<mask_dir>/<image stem><suffix>``, in one of the
formats:

* ``label_png``: a single-channel PNG label map (palette PNGs give their
  indices, 16-bit PNGs work); one mask per distinct value, except the
  ignore value;
* ``panoptic_png``: an RGB PNG of segment ids (id = R + 256 G + 256^2 B, the
  COCO panoptic encoding); one mask per non-zero id;
* ``rle_json``: a JSON list of COCO RLE dicts (``size``, ``counts``) or of
  dicts holding one under ``segmentation`` (COCO annotations);
* ``npy``: an (H, W) integer label map (as ``label_png``) or a (Q, H, W)
  stack of soft masks in [0, 1];
* ``npz``: binary masks as run lengths, with the generator's class logits
  over the classes of ``<mask_dir>/vocabulary.txt`` (void last) when the
  folder has that file (see :mod:`.offline_npz`; docs/offline_masks.md).

Masks are in increasing value / id order, or in file order.
"""
import json
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from pycocotools import mask as mask_utils

from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.vocabulary import Vocabulary, VocabularyLike
from ..utils.flip import flip_like_image
from .base import BaseMaskGenerator, GeneratedMasks
from .offline_npz import VOCABULARY_FILE, read_offline_npz, save_offline_npz

FORMATS = ('label_png', 'panoptic_png', 'rle_json', 'npy', 'npz')
#: formats :func:`save_offline_masks` writes (a label PNG would need an
#: agreed ignore value for uncovered pixels; a panoptic PNG has id 0)
WRITABLE_FORMATS = ('panoptic_png', 'rle_json', 'npy', 'npz')
SUFFIX_FORMATS = {'.json': 'rle_json', '.npy': 'npy', '.npz': 'npz'}
#: masks resized to the generator input this many at a time (bounds the
#: float copy of a 250-query full-resolution export)
RESIZE_CHUNK = 16


def label_map_to_masks(seg: np.ndarray,
                       ignore_index: Optional[int] = None) -> np.ndarray:
    """(H, W) label map -> (Q, H, W) bool, one mask per distinct value in
    increasing order, ``ignore_index`` left out."""
    values = np.unique(seg)
    if ignore_index is not None:
        values = values[values != ignore_index]
    return seg[None] == values[:, None, None]


def _read_png(path: str) -> np.ndarray:
    with Image.open(path) as img:
        return np.array(img)


def read_label_png(path: str,
                   ignore_index: Optional[int] = None) -> np.ndarray:
    seg = _read_png(path)
    if seg.ndim != 2:
        raise ValueError(
            f'a label PNG must have one channel, this one has shape '
            f'{seg.shape} (an RGB id map needs format="panoptic_png")')
    return label_map_to_masks(seg, ignore_index)


def read_panoptic_png(path: str) -> np.ndarray:
    rgb = _read_png(path)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f'a panoptic PNG must be RGB, got shape {rgb.shape}')
    rgb = rgb.astype(np.int64)
    ids = rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]
    return label_map_to_masks(ids, ignore_index=0)


def _decode_rle(rle, i: int) -> np.ndarray:
    if isinstance(rle, dict) and 'segmentation' in rle:
        rle = rle['segmentation']
    if not isinstance(rle, dict) or not {'size', 'counts'} <= set(rle):
        raise ValueError(f'entry {i} is not an RLE dict with "size" and '
                         f'"counts" (polygons are not supported): '
                         f'{str(rle)[:80]}')
    h, w = rle['size']
    if isinstance(rle['counts'], list):
        rle = mask_utils.frPyObjects(rle, h, w)
    elif isinstance(rle['counts'], str):
        rle = dict(size=[h, w], counts=rle['counts'].encode('ascii'))
    return mask_utils.decode(rle).astype(bool)


def read_rle_json(path: str) -> np.ndarray:
    with open(path, encoding='utf-8') as f:
        entries = json.load(f)
    if not isinstance(entries, list):
        raise ValueError('expected a JSON list of RLE masks, got a '
                         f'{type(entries).__name__}')
    masks = [_decode_rle(rle, i) for i, rle in enumerate(entries)]
    if not masks:
        return np.zeros((0, 0, 0), dtype=bool)
    sizes = {m.shape for m in masks}
    if len(sizes) > 1:
        raise ValueError(f'the masks have different sizes {sorted(sizes)}')
    return np.stack(masks)


def read_npy(path: str, ignore_index: Optional[int] = None) -> np.ndarray:
    array = np.load(path, allow_pickle=False)
    if array.ndim == 2:
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError('an (H, W) array must be an integer label map, '
                             f'got dtype {array.dtype}')
        return label_map_to_masks(array, ignore_index)
    if array.ndim != 3:
        raise ValueError('expected an (H, W) label map or a (Q, H, W) mask '
                         f'stack, got shape {array.shape}')
    if array.dtype == bool:
        return array
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f'mask values must be numbers, got {array.dtype}')
    array = array.astype(np.float32)
    if array.size and not (np.isfinite(array).all() and array.min() >= 0
                           and array.max() <= 1):
        raise ValueError('soft masks must lie in [0, 1], got values in '
                         f'[{array.min()}, {array.max()}]')
    return array


def read_offline_masks(path: str,
                       fmt: str,
                       ignore_index: Optional[int] = None) -> np.ndarray:
    """(Q, H, W) masks (bool or float in [0, 1]) of one file; ``fmt`` as
    :class:`OfflineMaskGenerator`'s ``format`` (``'auto'`` included), except
    ``npz`` (masks and logits: :func:`read_offline_npz`)."""
    if fmt == 'auto':
        fmt = SUFFIX_FORMATS.get(osp.splitext(path)[1].lower())
        if fmt is None:
            with Image.open(path) as img:
                fmt = 'panoptic_png' if img.mode in ('RGB', 'RGBA') \
                    else 'label_png'
    if fmt == 'npz':
        raise ValueError(f'{path}: an npz export holds masks and logits; '
                         'read it with read_offline_npz')
    if fmt == 'label_png':
        return read_label_png(path, ignore_index)
    if fmt == 'panoptic_png':
        return read_panoptic_png(path)
    if fmt == 'rle_json':
        return read_rle_json(path)
    return read_npy(path, ignore_index)


def save_offline_masks(masks, path: str, fmt: str, logits=None) -> None:
    """Write (Q, H, W) soft masks in [0, 1] so that
    :class:`OfflineMaskGenerator` reads them back.

    ``npy`` keeps the soft values (float16); ``rle_json`` keeps every mask
    binarised at 0.5 (overlaps allowed); ``panoptic_png`` gives each pixel
    to the mask with the highest value, if that is at least 0.5 (id = mask
    index + 1; 0 elsewhere), so overlapping masks lose pixels; ``npz``
    keeps every mask as > 0.5 and the (Q, K + 1) ``logits`` (float32),
    the only format that has them.
    """
    if fmt not in WRITABLE_FORMATS:
        raise ValueError(f'cannot write format {fmt!r}; choose from '
                         f'{WRITABLE_FORMATS}')
    if logits is not None and fmt != 'npz':
        raise ValueError(f'format {fmt!r} cannot hold class logits; use '
                         '"npz"')
    if fmt == 'npz':
        logits = None if logits is None else \
            torch.as_tensor(logits).detach().float().cpu().numpy()
        save_offline_npz(path,
                         torch.as_tensor(masks).detach().cpu().numpy(),
                         logits)
        return
    masks = torch.as_tensor(masks).detach().float().cpu().numpy()
    if masks.ndim != 3:
        raise ValueError(f'masks must be (Q, H, W), got {masks.shape}')
    if fmt == 'npy':
        np.save(path, masks.astype(np.float16))
    elif fmt == 'rle_json':
        binary = np.asfortranarray(
            (masks >= 0.5).transpose(1, 2, 0), dtype=np.uint8)
        rles = mask_utils.encode(binary) if len(masks) else []
        with open(path, 'w', encoding='utf-8') as f:
            json.dump([
                dict(
                    size=[int(s) for s in r['size']],
                    counts=r['counts'].decode('ascii')) for r in rles
            ], f)
    else:
        if len(masks) >= 256**3:
            raise ValueError(f'{len(masks)} masks do not fit 24-bit ids')
        ids = np.zeros(masks.shape[1:], dtype=np.int64)
        if len(masks):
            owner = masks.argmax(0)
            ids = np.where(masks.max(0) >= 0.5, owner + 1, 0)
        rgb = np.stack([ids % 256, ids // 256 % 256, ids // 256**2], -1)
        Image.fromarray(rgb.astype(np.uint8), mode='RGB').save(path)


def _aspect_matches(mask_size, image_size) -> bool:
    """Whether two sizes are rescalings of one size, up to rounding."""
    (h, w), (hi, wi) = mask_size, image_size
    return abs(h * wi - w * hi) <= 0.5 * (h + w + hi + wi) + 1


@MODELS.register_module()
class OfflineMaskGenerator(BaseMaskGenerator):
    """Masks read from ``<mask_dir>/<image stem><suffix>`` (see the module
    docstring for the formats), with class logits for ``npz`` exports
    whose folder names their classes.

    Args:
        mask_dir: folder of mask files.
        suffix: file name ending after the image stem (``'.png'``,
            ``'.json'``, ``'_masks.npy'``, ``'.npz'``, ...).
        format: one of ``'label_png'``, ``'panoptic_png'``, ``'rle_json'``,
            ``'npy'``, ``'npz'``; ``'auto'`` picks it from the suffix (a
            ``.png`` is a panoptic id map when RGB, else a label map).
        ignore_index: label-map value that is no mask (label formats).
        vocabulary: the classes of an ``npz`` export's logits (void
            excluded); default: ``<mask_dir>/vocabulary.txt`` if it exists,
            else the export has masks only. It becomes :attr:`vocabulary`,
            so the segmentor combines the logits with CLIP's (Eq. 4).

    The image stem comes from ``data_sample.img_path``. Files are read
    when their image is (nothing is cached). Masks at another size than the
    image given to the generator (usually the original resolution) are
    resized bilinearly; a test-time flip of the image is applied to them as
    well.
    """

    def __init__(self,
                 mask_dir: str,
                 suffix: str = '.png',
                 format: str = 'auto',
                 ignore_index: Optional[int] = None,
                 vocabulary: Optional[VocabularyLike] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if format != 'auto' and format not in FORMATS:
            raise ValueError(f'format must be "auto" or one of {FORMATS}, '
                             f'got {format!r}')
        known = suffix.lower().endswith(('.png', *SUFFIX_FORMATS))
        if format == 'auto' and not known:
            raise ValueError(
                f'format "auto" cannot tell the format of suffix {suffix!r}; '
                f'name it (one of {FORMATS})')
        self.mask_dir = mask_dir
        self.suffix = suffix
        self.format = format
        self.ignore_index = ignore_index
        self.is_npz = format == 'npz' or (
            format == 'auto' and suffix.lower().endswith('.npz'))
        if vocabulary is not None and not self.is_npz:
            raise ValueError(
                f'only npz exports have class logits; format {format!r} '
                f'with suffix {suffix!r} takes no vocabulary')
        default_vocab = osp.join(mask_dir, VOCABULARY_FILE)
        if vocabulary is None and self.is_npz and osp.isfile(default_vocab):
            vocabulary = default_vocab
        #: classes of the logits, or None (masks only)
        self.vocabulary = Vocabulary.build(vocabulary) \
            if vocabulary is not None else None

    def mask_path(self, img_path: str) -> str:
        stem = osp.splitext(osp.basename(img_path))[0]
        return osp.join(self.mask_dir, stem + self.suffix)

    def _read(self, path: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        if self.is_npz:
            return read_offline_npz(
                path, len(self.vocabulary) if self.vocabulary else None)
        return read_offline_masks(path, self.format, self.ignore_index), None

    def _load(self, sample, image) -> GeneratedMasks:
        img_path = sample.metainfo.get('img_path')
        if img_path is None:
            raise KeyError('OfflineMaskGenerator needs img_path in the data '
                           'samples (PackSegInputs meta_keys)')
        path = self.mask_path(img_path)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'no offline masks for image {img_path}: {path} does not '
                'exist')
        try:
            masks, logits = self._read(path)
        except Exception as e:
            raise ValueError(f'offline masks of image {img_path} ({path}) '
                             f'cannot be read: {e}') from e
        if logits is not None:
            logits = torch.from_numpy(logits).to(image.device)
        size = tuple(image.shape[-2:])
        if not len(masks):
            return GeneratedMasks(
                masks=image.new_zeros((0, ) + size), logits=logits)
        if not _aspect_matches(masks.shape[-2:], size):
            raise ValueError(
                f'offline masks {path} are {masks.shape[-2:]} (H, W), which '
                f'is not a rescaling of image {img_path} at {size}')
        masks = torch.cat([
            self._resize(
                torch.from_numpy(masks[i:i + RESIZE_CHUNK]).to(
                    image.device, torch.float), size)
            for i in range(0, len(masks), RESIZE_CHUNK)
        ])
        return GeneratedMasks(
            masks=flip_like_image(masks, sample.metainfo), logits=logits)

    @staticmethod
    def _resize(masks: torch.Tensor, size) -> torch.Tensor:
        if masks.shape[-2:] == size:
            return masks
        return F.interpolate(
            masks[None], size=size, mode='bilinear', align_corners=False)[0]

    def forward(self, images, data_samples) -> List[GeneratedMasks]:
        return [
            self._load(sample, image)
            for image, sample in zip(images, data_samples)
        ]
