"""Loading checkpoints without running code from them.

``torch.load`` unpickles; a pickle can call any Python function, so a
crafted ``.pth`` file runs code on the machine that loads it. torch >= 2.6
loads with ``weights_only=True`` by default, which rebuilds tensors and plain
containers only. A checkpoint that mmengine's Runner writes holds a little
more (the message hub's ``HistoryBuffer`` objects and the numpy arrays
inside them), so every loader of this package runs inside
:func:`checkpoint_loading`, which allows exactly those objects for the time
of the load (``torch.serialization.safe_globals``) and nothing else. Nothing
is changed at import time: mmengine and mmseg load as they do without this
package.

A full (unsafe) unpickling only happens on an explicit opt-in
(``allow_unsafe_pickle=True``, ``--unsafe-load`` of the tools), with a
warning.
"""
import os
import pickle
import re
import warnings
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

#: The globals an mmengine 0.10 Runner checkpoint needs besides tensors and
#: plain containers (checked with
#: ``torch.serialization.get_unsafe_globals_in_checkpoint`` on a checkpoint
#: of ``tools/train.py``, numpy 1.26; each one is needed, see
#: ``tests/test_training.py``):
RUNNER_CHECKPOINT_GLOBALS = [
    # ``message_hub.log_scalars`` values: the logged losses, lr, times
    HistoryBuffer,
    # ... whose ``_statistics_methods`` dict holds its methods, pickled as
    # ``getattr(HistoryBuffer, 'mean')``. getattr only reads attributes;
    # what it returns cannot be called during the load unless allowlisted
    # itself
    getattr,
    # the ``np.ndarray`` histories inside them: numpy pickles an array as
    # ``_reconstruct(ndarray, ...)`` + its dtype (+ its raw bytes as
    # ``codecs.encode``, which torch allows by default)
    np.core.multiarray._reconstruct,
    np.ndarray,
    np.dtype,
    # numpy scalars (``np.float64`` losses) in the histories and runtime info
    np.core.multiarray.scalar,
    # a dtype is rebuilt with ``__setstate__``, which torch allows only for
    # allowlisted classes: the float64 values and int64 counts of the
    # histories
    np.dtypes.Float64DType,
    np.dtypes.Int64DType,
]

#: what the tools' flag and the Python argument are called in messages
UNSAFE_HINT = ('if you trust the file and its origin, load it with '
               '--unsafe-load (tools) or allow_unsafe_pickle=True (Python)')


class UnsafeCheckpointError(ValueError):
    """A checkpoint holds objects that a weights-only load refuses."""


class CheckpointMismatchError(ValueError):
    """A checkpoint's weights do not fit the model built from a config."""


@contextmanager
def _weights_only_env(forced: bool) -> Iterator[None]:
    """torch's switches: every load weights-only (``forced``), or loads that
    leave ``weights_only`` unset unpickling fully."""
    names = ('TORCH_FORCE_WEIGHTS_ONLY_LOAD',
             'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
    previous = {name: os.environ.pop(name, None) for name in names}
    os.environ[names[0] if forced else names[1]] = '1'
    try:
        yield
    finally:
        for name, value in previous.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def _refused_global(error: Exception) -> str:
    """``'posix.system'`` from torch's weights-only refusal message."""
    found = re.search(r"GLOBAL ([\w.]+)|but got <class '([\w.]+)'>",
                      str(error))
    return (found.group(1) or found.group(2)) if found else \
        type(error).__name__


@contextmanager
def checkpoint_loading(allow_unsafe_pickle: bool = False,
                       source: Optional[str] = None) -> Iterator[None]:
    """Within this context every ``torch.load`` (mmengine's
    ``CheckpointLoader``, hence ``load_checkpoint``, the Runner's
    ``load_from`` and ``resume``, mmseg's ``init_model`` and
    ``MMSegInferencer``) is weights-only, also one that asks for
    ``weights_only=False`` (``TORCH_FORCE_WEIGHTS_ONLY_LOAD``), with
    :data:`RUNNER_CHECKPOINT_GLOBALS` allowed, so Runner checkpoints load.

    Args:
        allow_unsafe_pickle: unpickle fully instead (runs whatever the file
            says; a warning is issued). Only for files you trust.
        source: the file, named in the error.

    Raises:
        UnsafeCheckpointError: a weights-only load refused the file (naming
            the object it refused).
    """
    if allow_unsafe_pickle:
        warnings.warn(
            f'loading {source or "checkpoints"} with full unpickling '
            '(allow_unsafe_pickle / --unsafe-load): a crafted file can run '
            'code; do this only for files you trust')
        with _weights_only_env(forced=False):
            yield
        return
    try:
        with _weights_only_env(forced=True), \
                torch.serialization.safe_globals(RUNNER_CHECKPOINT_GLOBALS):
            yield
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(
            f'{source or "the checkpoint"}: refused to load, it holds '
            f'Python objects a weights-only load does not rebuild (first: '
            f'{_refused_global(e)}); {UNSAFE_HINT}') from e


def key_list(kind: str, keys: Sequence[str], shown: int = 10) -> str:
    """``'missing keys (12): a, b, ... and 2 more'``."""
    keys = list(keys)
    more = f' and {len(keys) - shown} more' if len(keys) > shown else ''
    return f'{kind} keys ({len(keys)}): ' \
        f'{", ".join(keys[:shown]) or "none"}{more}'


def mismatch_message(missing: Sequence[str],
                     unexpected: Sequence[str]) -> str:
    """Missing and unexpected keys of a state dict, for an error."""
    return f'{key_list("missing", missing)}; ' \
        f'{key_list("unexpected", unexpected)}'
