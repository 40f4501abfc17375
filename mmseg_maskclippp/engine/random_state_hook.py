"""The model's random numbers in a stream of their own, saved in checkpoints,
so that a resumed run continues exactly where it stopped."""
import hashlib
import logging
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmseg_maskclippp.registry import HOOKS

#: checkpoint key of the saved stream
CHECKPOINT_KEY = 'model_random_state'


def _cuda_in_use() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_initialized()


def _pack(python_state: tuple, numpy_state: tuple, torch_state, cuda_state):
    """Generator states in types a weights-only load rebuilds."""
    _, key, pos, has_gauss, gauss = numpy_state
    state = dict(
        python=python_state,
        numpy=(torch.from_numpy(key.astype(np.int64)), pos, has_gauss, gauss),
        torch=torch_state)
    if cuda_state is not None:
        state['cuda'] = cuda_state
    return state


def get_random_state() -> dict:
    """The global generators' states: python, numpy, torch (CPU and the
    current CUDA device)."""
    return _pack(random.getstate(), np.random.get_state(),
                 torch.get_rng_state(),
                 torch.cuda.get_rng_state() if _cuda_in_use() else None)


def set_random_state(state: dict) -> None:
    """Undo :func:`get_random_state`."""
    random.setstate(state['python'])
    key, pos, has_gauss, gauss = state['numpy']
    np.random.set_state(
        ('MT19937', key.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and _cuda_in_use():
        torch.cuda.set_rng_state(state['cuda'])


def seeded_random_state(seed: int) -> dict:
    """The states of generators seeded with ``seed`` (the global ones are
    not touched)."""
    cuda = torch.Generator('cuda').manual_seed(seed).get_state() \
        if _cuda_in_use() else None
    return _pack(random.Random(seed).getstate(),
                 np.random.RandomState(seed % 2**32).get_state(),
                 torch.Generator().manual_seed(seed).get_state(), cuda)


@HOOKS.register_module()
class ModelRandomStateHook(Hook):
    """Run every training step on a random stream of its own and save that
    stream in the checkpoints.

    Two things draw random numbers during training: the data pipeline
    (crops, flips, ...) and the model (dropout, e.g. the PseudoText PSM's
    attention dropout). mmengine's ``IterBasedTrainLoop`` resumes by
    re-seeding and then loading (and discarding) the batches already trained
    on, which replays the data's random numbers but not the model's, so
    both streams drift apart from those of the uninterrupted run. This hook
    keeps them apart: around each ``train_step`` the global generators
    (python, numpy, torch) are switched to the model's stream, seeded from
    (seed, rank) at the start, saved in every checkpoint and restored on
    resume. With a fixed ``randomness.seed`` a resumed run is then
    bit-identical to the uninterrupted one on a CPU (GPU kernels may not be
    deterministic).
    """

    # switch back before CheckpointHook (VERY_LOW) saves and before
    # validation runs
    priority = 'HIGH'

    def __init__(self) -> None:
        self._model_state: Optional[dict] = None
        self._loaded: Optional[dict] = None
        self._data_state: Optional[dict] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # resume and load_from both land here; before_train tells them apart
        self._loaded = checkpoint.get(CHECKPOINT_KEY)

    def before_train(self, runner) -> None:
        if runner.iter > 0 and self._loaded is not None:
            self._model_state = self._loaded
            return
        if runner.iter > 0:
            print_log(
                f'the checkpoint resumed at iteration {runner.iter} has no '
                f'{CHECKPOINT_KEY}: dropout and other random numbers of the '
                'model will differ from those of an uninterrupted run',
                logger='current', level=logging.WARNING)
        rank, _ = get_dist_info()
        digest = hashlib.sha256(f'{runner.seed}/{rank}'.encode()).digest()
        self._model_state = seeded_random_state(
            int.from_bytes(digest[:8], 'little') % 2**63)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._data_state = get_random_state()
        set_random_state(self._model_state)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._model_state = get_random_state()
        set_random_state(self._data_state)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._model_state is not None:
            checkpoint[CHECKPOINT_KEY] = self._model_state
