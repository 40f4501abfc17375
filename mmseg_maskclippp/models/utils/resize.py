"""The official implementation's short-side test resize."""
from typing import Optional, Tuple


def resize_short_side(size: Tuple[int, int], short: int,
                      max_long: Optional[int] = None) -> Tuple[int, int]:
    """(H, W) scaled so that the short side is ``short``; the long side is
    ``int(long * short / short_side)`` (truncated, not capped), as the
    official encoders (CLIP and mask generator, ``TEST_RESIZE_TYPE:
    short``) resize their input.

    ``max_long`` is our guard against extreme aspect ratios (the official
    code has none): if the long side would exceed it, the image is scaled so
    that its long side is ``max_long`` instead (the short side, truncated
    too, stays at least 1). Ordinary images never reach the default cap of
    the segmentor (``clip_max_long_side``), so their sizes are the official
    ones.
    """
    h, w = size
    if max_long is not None and max(h, w) * short > max_long * min(h, w):
        low = max(1, int(min(h, w) * max_long / max(h, w)))
        return (low, max_long) if h <= w else (max_long, low)
    if h < w:
        return short, int(w * short / h)
    return int(h * short / w), short
