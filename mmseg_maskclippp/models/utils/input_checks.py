"""Checks of what the segmentor's public entry points are handed.

Images are RGB on the 0..255 scale (the model normalises them itself) and
finite; masks are finite, with values in [0, 1] (binary or soft). A NaN
pixel or mask value would otherwise turn every logit of its image into NaN,
and a mask scaled 0..255 would silently change the answer, so both are
errors naming the image and the values found.

Images that look scaled to 0..1 (all values in [0, 1], not all 0) are a
warning, not an error: a very dark 0..255 image can look the same.
"""
import warnings
from typing import Sequence

import torch
from torch import Tensor

#: how far outside 0..255 an image value may be (resampling overshoot)
IMAGE_RANGE_TOLERANCE = 1.0


def _non_finite(x: Tensor) -> int:
    if not x.is_floating_point():
        return 0
    return int((~torch.isfinite(x)).sum())


def check_images(images: Sequence[Tensor], where: str) -> None:
    """``images``: (3, H, W) RGB tensors, 0..255.

    Raises:
        ValueError: NaN or infinite values, or values clearly outside
            0..255 (a normalised image, for instance).
    """
    scaled = []
    for i, img in enumerate(images):
        bad = _non_finite(img)
        if bad:
            raise ValueError(
                f'{where}: image {i} has {bad} NaN or infinite values; '
                'expected finite RGB values in 0..255')
        if not img.numel():
            continue
        low, high = float(img.min()), float(img.max())
        if low < -IMAGE_RANGE_TOLERANCE or \
                high > 255 + IMAGE_RANGE_TOLERANCE:
            raise ValueError(
                f'{where}: image {i} has values in [{low:.4g}, {high:.4g}]; '
                'expected RGB values in 0..255, not normalised (the model '
                "normalises with its backbone's mean and std)")
        if img.is_floating_point() and 0 < high <= 1:
            scaled.append(f'{i} (max {high:.4g})')
    if scaled:
        warnings.warn(
            f'{where}: image {", ".join(scaled)} has all values in [0, 1]; '
            'the model expects RGB values in 0..255: multiply images '
            'scaled to 0..1 by 255', stacklevel=3)


def check_masks(masks: Sequence[Tensor], where: str) -> None:
    """``masks``: (Q, H, W) tensors, bool or numbers in [0, 1].

    Raises:
        ValueError: NaN or infinite values, or values outside [0, 1].
    """
    for i, m in enumerate(masks):
        bad = _non_finite(m)
        if bad:
            raise ValueError(
                f'{where}: the masks of image {i} have {bad} NaN or '
                'infinite values; expected values in [0, 1]')
        if m.dtype == torch.bool or not m.numel():
            continue
        low, high = float(m.min()), float(m.max())
        if low < 0 or high > 1:
            raise ValueError(
                f'{where}: the masks of image {i} have values in '
                f'[{low:.4g}, {high:.4g}]; expected binary or soft masks in '
                '[0, 1] (divide 0/255 masks by 255)')
