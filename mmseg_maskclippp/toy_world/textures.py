"""The textures of the toy world: (H, W) pattern maps in {0, 1}.

A region's pixels are its colour where the pattern is 0 and a dark shade of
it where the pattern is 1, so colour and texture vary independently. Every
texture draws its own period and phase; stripes keep a near-fixed
orientation (vertical, within a few degrees) and waves run horizontally,
which the prototype of this world found CLIP needs to learn texture in a few
hundred steps.
"""
from functools import lru_cache
from typing import Callable, Dict

import numpy as np


@lru_cache(maxsize=4)
def pixel_grid(size: int):
    """(y, x) pixel coordinates, (H, W) float32 each (read-only)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    y.flags.writeable = x.flags.writeable = False
    return y, x


def plain(rng: np.random.Generator, size: int) -> np.ndarray:
    return np.zeros((size, size), np.float32)


def striped(rng: np.random.Generator, size: int) -> np.ndarray:
    y, x = pixel_grid(size)
    angle = rng.uniform(-0.1, 0.1)
    period = rng.uniform(6.0, 9.0)
    u = x * np.cos(angle) + y * np.sin(angle)
    return (np.mod(u / period + rng.uniform(), 1.0) < 0.5).astype(np.float32)


def dotted(rng: np.random.Generator, size: int) -> np.ndarray:
    y, x = pixel_grid(size)
    spacing = rng.uniform(7.0, 9.0)
    dy = np.mod(y + rng.uniform(0, spacing), spacing) - spacing / 2
    dx = np.mod(x + rng.uniform(0, spacing), spacing) - spacing / 2
    return (dx**2 + dy**2 < (0.3 * spacing)**2).astype(np.float32)


def checkered(rng: np.random.Generator, size: int) -> np.ndarray:
    y, x = pixel_grid(size)
    cell = rng.uniform(4.0, 6.0)
    cy = np.floor((y + rng.uniform(0, cell)) / cell)
    cx = np.floor((x + rng.uniform(0, cell)) / cell)
    return np.mod(cy + cx, 2).astype(np.float32)


def wavy(rng: np.random.Generator, size: int) -> np.ndarray:
    y, x = pixel_grid(size)
    period = rng.uniform(6.0, 9.0)
    v = y + 2.0 * np.sin(2 * np.pi * x / 16.0 + rng.uniform(0, 2 * np.pi))
    return (np.mod(v / period + rng.uniform(), 1.0) < 0.4).astype(np.float32)


#: texture name -> pattern(rng, size); the order is the world's order
TEXTURES: Dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    'plain': plain,
    'striped': striped,
    'dotted': dotted,
    'checkered': checkered,
    'wavy': wavy,
}
