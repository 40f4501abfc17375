"""The official implementation's short-side test resize."""
from typing import Tuple


def resize_short_side(size: Tuple[int, int], short: int) -> Tuple[int, int]:
    """(H, W) scaled so that the short side is ``short``; the long side is
    ``int(long * short / short_side)`` (truncated, not capped), as the
    official encoders (CLIP and mask generator, ``TEST_RESIZE_TYPE:
    short``) resize their input."""
    h, w = size
    if h < w:
        return short, int(w * short / h)
    return int(h * short / w), short
