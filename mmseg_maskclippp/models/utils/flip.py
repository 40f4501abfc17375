"""Test-time flips: the one place that maps mmcv's ``RandomFlip``
directions to tensor dimensions."""
from torch import Tensor

#: the (..., H, W) dimensions each ``RandomFlip`` direction reverses
FLIP_DIMS = {'horizontal': (-1, ), 'vertical': (-2, ), 'diagonal': (-2, -1)}


def flip_like_image(x: Tensor, meta: dict) -> Tensor:
    """Flip (..., H, W) ``x`` as the image described by ``meta`` was flipped
    (``flip``, ``flip_direction``; mmcv's default direction is horizontal).
    A flip is its own inverse, so this also undoes the image's flip."""
    if not meta.get('flip'):
        return x
    return x.flip(FLIP_DIMS[meta.get('flip_direction', 'horizontal')])
