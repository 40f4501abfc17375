"""The disk cache of frozen text embeddings, validated on every read.

One safetensors file (no pickle: reading a cache file never runs code) per
(CLIP model, text weights, templates, vocabulary) holds the tensor
``embeds`` (Ka, T, D) and, in its metadata, the full cache key (the file
name holds a prefix of it). A file is used only when it is readable, holds
that key and exactly that tensor, float32, of the expected shape, finite,
with L2-normalised rows. Anything else -- a truncated or garbage file, a
stale or hand-edited entry, NaNs -- is reported with a warning that names
the file and why, and the caller encodes the vocabulary again.

Writers write a private temporary file in the cache folder and rename it
into place, so concurrent writers of one entry never expose a partial
file (the last rename wins; both wrote the same embeddings).
"""
import os
import os.path as osp
import tempfile
import warnings
from typing import Optional, Tuple

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor

#: the name of the tensor in a cache file
TENSOR_NAME = 'embeds'
#: suffix of cache files
SUFFIX = '.safetensors'
#: how far from 1 the norm of a cached embedding may be
NORM_TOLERANCE = 1e-3


def cache_file(cache_dir: str, key: str) -> str:
    """The cache file of ``key`` (a hex digest) in ``cache_dir``."""
    return osp.join(cache_dir, key[:32] + SUFFIX)


class InvalidCacheFile(ValueError):
    """A cache file that must not be used; the message says why."""


def _load_valid(path: str, key: str, shape: Tuple[int, ...]) -> Tensor:
    """The embeddings of a valid cache file; :class:`InvalidCacheFile`
    otherwise."""
    try:
        with safe_open(path, framework='pt', device='cpu') as f:
            metadata = f.metadata() or {}
            names = list(f.keys())
            if names != [TENSOR_NAME]:
                raise InvalidCacheFile(
                    f'it holds the tensors {names}, not [{TENSOR_NAME!r}]')
            embeds = f.get_tensor(TENSOR_NAME)
    except InvalidCacheFile:
        raise
    except Exception as e:  # truncated, garbage, unreadable, ...
        raise InvalidCacheFile(
            f'it cannot be read ({type(e).__name__}: {e})') from e
    if metadata.get('key') != key:
        raise InvalidCacheFile('its key does not match the model, '
                               'templates and vocabulary')
    if embeds.dtype != torch.float32:
        raise InvalidCacheFile(
            f'its embeddings are {embeds.dtype}, not float32')
    if tuple(embeds.shape) != tuple(shape):
        raise InvalidCacheFile(
            f'its embeddings have shape {tuple(embeds.shape)}, expected '
            f'{tuple(shape)} (synonyms x templates x dims)')
    finite = torch.isfinite(embeds)
    if not finite.all():
        raise InvalidCacheFile(
            f'{int((~finite).sum())} of its values are NaN or infinite')
    norms = embeds.norm(dim=-1)
    if ((norms - 1).abs() > NORM_TOLERANCE).any():
        raise InvalidCacheFile(
            'its embeddings are not L2-normalised (norms '
            f'{float(norms.min()):.4g}..{float(norms.max()):.4g})')
    return embeds


def read_embeddings(path: str, key: str,
                    shape: Tuple[int, ...]) -> Optional[Tensor]:
    """The cached (Ka, T, D) embeddings of ``key`` on the CPU, or None when
    there is no file or it is not valid (then with a warning naming it)."""
    if not osp.isfile(path):
        return None
    try:
        return _load_valid(path, key, shape)
    except InvalidCacheFile as e:
        warnings.warn(
            f'text embedding cache {path} is not valid: {e}; encoding the '
            'vocabulary again and replacing it', stacklevel=3)
        return None


def write_embeddings(path: str, key: str, embeds: Tensor) -> None:
    """Store (Ka, T, D) embeddings under ``key`` atomically; a cache folder
    that cannot be written is a warning, not an error."""
    folder = osp.dirname(path)
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=folder, prefix=osp.basename(path) + '.', suffix='.tmp')
        os.close(fd)
        save_file({TENSOR_NAME: embeds.detach().float().cpu().contiguous()},
                  tmp, metadata=dict(key=key))
        os.replace(tmp, path)
    except OSError as e:
        warnings.warn(f'could not write the text embedding cache {path}: '
                      f'{e}', stacklevel=3)
    finally:
        if tmp is not None and osp.exists(tmp):
            os.remove(tmp)
