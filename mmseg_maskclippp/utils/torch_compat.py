"""Compatibility of mmengine 0.10 with torch >= 2.6.

torch 2.6 made ``torch.load`` default to ``weights_only=True``. mmengine
0.10 checkpoints also hold the runner state (``message_hub`` with
``HistoryBuffer`` objects, numpy arrays), which that mode refuses, so
``--resume`` and ``load_from`` fail. mmengine's local-file loader is
re-registered here with the behaviour it was written for: a full
``torch.load`` of the file the user named. Load only checkpoints you trust,
as with any pickle.
"""
import os.path as osp

import torch
from mmengine.runner import CheckpointLoader


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location=None):
    """Load a local mmengine checkpoint (any torch version)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)
