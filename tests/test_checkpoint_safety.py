"""Checkpoints load weights-only: importing the package changes nothing in
how mmengine and mmseg load, a crafted file runs no code inside our context
either, and full unpickling happens only on request."""
import os
import os.path as osp
import pickle

import pytest
import torch
from mmengine.runner import CheckpointLoader, load_checkpoint

import mmseg_maskclippp  # noqa: F401
from crafted_checkpoint import write_crafted
from mmseg_maskclippp.utils import (RUNNER_CHECKPOINT_GLOBALS,
                                    UnsafeCheckpointError, checkpoint_loading)


@pytest.fixture
def crafted(tmp_path):
    marker = str(tmp_path / 'ran')
    path = write_crafted(str(tmp_path / 'crafted.pth'), marker,
                         {'state_dict': {'weight': torch.zeros(1, 2)}})
    return path, marker


def test_the_crafted_file_runs_code_when_unpickled_on_request(crafted):
    path, marker = crafted
    with pytest.warns(UserWarning, match='crafted.pth with full unpickling'):
        with checkpoint_loading(allow_unsafe_pickle=True, source=path):
            checkpoint = CheckpointLoader.load_checkpoint(path)
    assert osp.isdir(marker)
    assert torch.equal(checkpoint['state_dict']['weight'], torch.zeros(1, 2))


def test_plain_mmengine_loading_stays_weights_only_after_import(crafted):
    path, marker = crafted
    with pytest.raises(pickle.UnpicklingError, match='makedirs'):
        load_checkpoint(torch.nn.Linear(2, 1), path)
    with pytest.raises(pickle.UnpicklingError, match='makedirs'):
        torch.load(path)
    assert not osp.exists(marker)


def test_our_context_refuses_it_naming_the_object_and_the_way_out(crafted):
    path, marker = crafted
    with pytest.raises(UnsafeCheckpointError,
                       match='crafted.pth: refused to load.*makedirs.*'
                       '--unsafe-load'):
        with checkpoint_loading(source=path):
            CheckpointLoader.load_checkpoint(path)
    # also a caller that asks for a full unpickling
    with pytest.raises(UnsafeCheckpointError):
        with checkpoint_loading(source=path):
            torch.load(path, weights_only=False)
    assert not osp.exists(marker)


def test_the_context_leaves_torch_as_it_found_it(crafted):
    env = {k: os.environ.get(k) for k in (
        'TORCH_FORCE_WEIGHTS_ONLY_LOAD', 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')}
    ours = set(RUNNER_CHECKPOINT_GLOBALS)
    assert not ours & set(torch.serialization.get_safe_globals())
    with pytest.raises(UnsafeCheckpointError), checkpoint_loading():
        torch.load(crafted[0])
    with pytest.warns(UserWarning), checkpoint_loading(True):
        pass
    assert env == {k: os.environ.get(k) for k in env}
    assert not ours & set(torch.serialization.get_safe_globals())
