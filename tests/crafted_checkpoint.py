"""Checkpoints whose pickle runs code: unpickling one creates a marker
folder (``os.makedirs``), so a test sees whether a loader ran it."""
import os

import torch


class Payload:
    """Pickles as a call of ``os.makedirs(marker)``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (self.marker, )


def write_crafted(path: str, marker: str, content: dict) -> str:
    """Save ``content`` (a normal-looking checkpoint) with the payload added
    under ``'meta'``; returns ``path``."""
    content = dict(content)
    content['meta'] = dict(content.get('meta') or {}, note=Payload(marker))
    torch.save(content, path)
    return path
