"""The offline export format: binary masks with the generator's class logits.

A folder holds one ``<image stem>.npz`` per image (numpy's
``np.savez_compressed`` zip of arrays, ``np.savez`` works too; read with
``allow_pickle=False``, so a file can hold
nothing but plain arrays) and, when the masks come with class logits, a
``vocabulary.txt`` naming the classes of the logits (``id:name,syn,...``,
one line per class in logit order, void not listed; see
:mod:`mmseg_maskclippp.vocabulary`). Every file has these fields, and no
others:

================  =======  =========  ======================================
field             dtype    shape      meaning
================  =======  =========  ======================================
``mask_size``     int64    (2,)       H, W of the masks (the image's size,
                                      or a rescaling of it)
``mask_runs``     uint32   (N,)       run lengths of all masks, one mask
                                      after the other: each mask flattened
                                      row-major (C order) and cut into
                                      alternating runs of 0 and 1, starting
                                      with a run of 0 (of length 0 if the
                                      first pixel is 1); a mask's runs sum
                                      to H * W
``mask_num_runs`` int64    (Q,)       number of runs of each mask (sums to
                                      N)
``logits``        float32  (Q, K+1)   the generator's class logits of each
                                      mask over the K classes of
                                      ``vocabulary.txt``, void last;
                                      present if and only if the folder has
                                      a vocabulary
================  =======  =========  ======================================

Masks and logits are in query order (row q of ``logits`` classifies mask
q). Masks are binary: a soft mask p is stored as p > 0.5 (a mask logit
> 0). Run lengths keep a file small (1.5 MiB for a synthetic 250-query
export of a 1024 x 2048 image, ``tools/misc/offline_export_size.py``) and
are decoded with one ``np.repeat``.
"""
import os.path as osp
import zipfile
from typing import Optional, Tuple

import numpy as np

#: the vocabulary file of a folder of ``.npz`` exports
VOCABULARY_FILE = 'vocabulary.txt'
MASK_FIELDS = ('mask_size', 'mask_runs', 'mask_num_runs')
FIELDS = MASK_FIELDS + ('logits', )


class OfflineExportError(ValueError):
    """A file that is not in the ``.npz`` export format."""

    def __init__(self, path: str, field: Optional[str], message: str):
        where = f'{path}: field {field!r}' if field else path
        super().__init__(f'{where}: {message}')
        self.path = path
        self.field = field


def encode_masks(masks: np.ndarray) -> dict:
    """(Q, H, W) binary masks -> the ``mask_*`` fields."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3:
        raise ValueError(f'masks must be (Q, H, W), got {masks.shape}')
    q, h, w = masks.shape
    flat = masks.reshape(q, h * w)
    runs, num_runs = [], np.zeros(q, dtype=np.int64)
    for i, row in enumerate(flat):
        # run boundaries: where the value changes; a leading 0-run is
        # empty when the first pixel is 1
        changes = np.flatnonzero(row[1:] != row[:-1]) + 1
        bounds = np.concatenate([[0], changes, [h * w]])
        lengths = np.diff(bounds)
        if row.size and row[0]:
            lengths = np.concatenate([[0], lengths])
        runs.append(lengths)
        num_runs[i] = len(lengths)
    return dict(
        mask_size=np.array([h, w], dtype=np.int64),
        mask_runs=np.concatenate(runs).astype(np.uint32)
        if runs else np.zeros(0, np.uint32),
        mask_num_runs=num_runs)


def save_offline_npz(path: str,
                     masks: np.ndarray,
                     logits: Optional[np.ndarray] = None) -> None:
    """Write one image's export.

    Args:
        path: the ``.npz`` file.
        masks: (Q, H, W) bool masks, or soft masks in [0, 1] (stored as
            > 0.5).
        logits: (Q, K + 1) class logits, void last (stored as float32).
    """
    masks = np.asarray(masks)
    if masks.dtype != bool:
        masks = masks > 0.5
    fields = encode_masks(masks)
    if logits is not None:
        logits = np.asarray(logits, dtype=np.float32)
        if logits.ndim != 2 or logits.shape[0] != masks.shape[0]:
            raise ValueError(f'logits must be ({masks.shape[0]}, K + 1), '
                             f'got {logits.shape}')
        fields['logits'] = logits
    with open(path, 'wb') as f:
        np.savez_compressed(f, **fields)


def _field(npz, path: str, name: str) -> np.ndarray:
    try:
        return npz[name]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise OfflineExportError(path, name, f'cannot be read ({e})') from e


def _check(array: np.ndarray, path: str, name: str, kind: str,
           ndim: int) -> None:
    if array.dtype.kind not in kind or array.ndim != ndim:
        raise OfflineExportError(
            path, name, f'expected a {ndim}-d array of dtype kind '
            f'{kind!r}, got dtype {array.dtype} and shape {array.shape}')


def read_offline_npz(
        path: str,
        num_classes: Optional[int] = None
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Read and check one image's export.

    Args:
        path: the ``.npz`` file.
        num_classes: K, the length of the folder's vocabulary; None when it
            has none (then the file must not hold logits).

    Returns:
        (Q, H, W) bool masks and the (Q, K + 1) float32 logits (or None).

    Raises:
        OfflineExportError: naming the file and the field at fault.
    """
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise OfflineExportError(
            path, None, f'not a readable .npz file (truncated, or not '
            f'written by np.savez?): {e}') from e
    with npz:
        names = set(npz.files)
        unknown = sorted(names - set(FIELDS))
        if unknown:
            raise OfflineExportError(
                path, unknown[0], f'unknown field; an export holds only '
                f'{", ".join(FIELDS)}')
        for name in MASK_FIELDS:
            if name not in names:
                raise OfflineExportError(path, name, 'missing')
        if num_classes is not None and 'logits' not in names:
            raise OfflineExportError(
                path, 'logits', f'missing, but the folder has a '
                f'{VOCABULARY_FILE} of {num_classes} classes')
        if num_classes is None and 'logits' in names:
            raise OfflineExportError(
                path, 'logits', f'present, but there is no '
                f'{osp.join(osp.dirname(path), VOCABULARY_FILE)} naming '
                'their classes')
        size = _field(npz, path, 'mask_size')
        runs = _field(npz, path, 'mask_runs')
        num_runs = _field(npz, path, 'mask_num_runs')
        logits = _field(npz, path, 'logits') if 'logits' in names else None
    _check(size, path, 'mask_size', 'iu', 1)
    if size.shape != (2, ) or (size <= 0).any():
        raise OfflineExportError(path, 'mask_size',
                                 f'expected (H, W) > 0, got {size.tolist()}')
    _check(runs, path, 'mask_runs', 'iu', 1)
    if (runs < 0).any():
        raise OfflineExportError(path, 'mask_runs', 'negative run length')
    _check(num_runs, path, 'mask_num_runs', 'iu', 1)
    h, w = (int(s) for s in size)
    q = len(num_runs)
    if (num_runs < 0).any() or int(num_runs.sum()) != len(runs):
        raise OfflineExportError(
            path, 'mask_num_runs', f'must be >= 0 and sum to the '
            f'{len(runs)} entries of mask_runs, sums to {num_runs.sum()}')
    mask_of_run = np.repeat(np.arange(q), num_runs)
    totals = np.bincount(
        mask_of_run, weights=runs.astype(np.float64), minlength=q)
    bad = np.flatnonzero(totals != h * w)
    if len(bad):
        raise OfflineExportError(
            path, 'mask_runs', f'the runs of mask {bad[0]} sum to '
            f'{int(totals[bad[0]])}, not H * W = {h * w}')
    if logits is not None:
        _check(logits, path, 'logits', 'f', 2)
        if logits.shape != (q, num_classes + 1):
            raise OfflineExportError(
                path, 'logits', f'expected shape ({q}, {num_classes + 1}) '
                f'({q} masks, {num_classes} classes of {VOCABULARY_FILE} '
                f'+ void), got {logits.shape}')
        if not np.isfinite(logits).all():
            raise OfflineExportError(path, 'logits', 'not all finite')
        logits = logits.astype(np.float32, copy=False)
    # run k of a mask is foreground when k is odd
    first = np.concatenate([[0], np.cumsum(num_runs)[:-1]]) if q else \
        np.zeros(0, np.int64)
    value = ((np.arange(len(runs)) - np.repeat(first, num_runs)) % 2) == 1
    masks = np.repeat(value, runs).reshape(q, h, w)
    return masks, logits
