"""A procedural open-vocabulary world: scenes of colour x texture regions.

Every class is a colour and a texture (``'red striped'``, ``'blue dotted'``),
so the name of a class that is never seen with a mask is still made of words
seen elsewhere. Some classes are *held out* (unseen): all classes of the last
``held_out_colours`` colours, all of the last ``held_out_textures`` textures,
and ``held_out_pairs`` more colour-texture pairs drawn with the seed among
the rest (each seen colour and texture keeps at least one seen class).

A scene is a Voronoi partition of the image into a few cells, each filled
with a different class.
"""
from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmseg_maskclippp.vocabulary import Vocabulary
from .textures import TEXTURES, pixel_grid

#: bumped whenever the drawing code changes what a seed gives
GENERATOR_VERSION = 1

#: colour name -> RGB; the order is the world's order
COLOURS = {
    'red': (215, 40, 40),
    'green': (40, 170, 60),
    'blue': (45, 80, 215),
    'yellow': (225, 205, 40),
    'purple': (140, 55, 185),
    'orange': (240, 135, 30),
    'pink': (240, 125, 190),
    'cyan': (40, 195, 205),
}

#: the pattern pixels of a region are this fraction of its colour
DARK_SHADE = 0.35
#: per-channel colour jitter of a region and per-pixel noise (0..255 scale)
COLOUR_JITTER = 12.0
PIXEL_NOISE = 5.0


@dataclass(frozen=True)
class ToyWorld:
    """The parameters of a world; everything it draws follows from them.

    Args:
        image_size: side of the square images, in pixels.
        num_colours: colours used, the first ones of :data:`COLOURS`.
        num_textures: textures used, the first ones of
            :data:`~mmseg_maskclippp.toy_world.textures.TEXTURES`.
        held_out_colours: the last this many colours are unseen.
        held_out_textures: the last this many textures are unseen.
        held_out_pairs: further unseen classes, drawn with ``seed``.
        min_regions: fewest regions per scene.
        max_regions: most regions per scene.
        seed: seed of the held-out pairs.
    """

    image_size: int = 64
    num_colours: int = 6
    num_textures: int = 5
    held_out_colours: int = 1
    held_out_textures: int = 1
    held_out_pairs: int = 0
    min_regions: int = 2
    max_regions: int = 4
    seed: int = 0

    def __post_init__(self):
        if not 1 <= self.num_colours <= len(COLOURS):
            raise ValueError(f'num_colours must be in [1, {len(COLOURS)}], '
                             f'got {self.num_colours}')
        if not 1 <= self.num_textures <= len(TEXTURES):
            raise ValueError(f'num_textures must be in [1, {len(TEXTURES)}]'
                             f', got {self.num_textures}')
        if not 0 <= self.held_out_colours < self.num_colours:
            raise ValueError(
                f'held_out_colours must be in [0, {self.num_colours - 1}] '
                f'(one colour must stay seen), got {self.held_out_colours}')
        if not 0 <= self.held_out_textures < self.num_textures:
            raise ValueError(
                f'held_out_textures must be in [0, {self.num_textures - 1}] '
                f'(one texture must stay seen), got {self.held_out_textures}')
        if self.held_out_pairs < 0:
            raise ValueError('held_out_pairs must be >= 0, got '
                             f'{self.held_out_pairs}')
        if not 1 <= self.min_regions <= self.max_regions:
            raise ValueError('need 1 <= min_regions <= max_regions, got '
                             f'{self.min_regions}, {self.max_regions}')
        if self.max_regions > self.num_classes:
            raise ValueError(f'max_regions {self.max_regions} exceeds the '
                             f'{self.num_classes} classes')
        if self.image_size < 16:
            raise ValueError(f'image_size must be >= 16, got '
                             f'{self.image_size}')
        self._held_out()  # raises if the pairs cannot be drawn

    # ------------------------------------------------------------------
    # classes
    @property
    def colours(self) -> List[str]:
        return list(COLOURS)[:self.num_colours]

    @property
    def textures(self) -> List[str]:
        return list(TEXTURES)[:self.num_textures]

    @property
    def num_classes(self) -> int:
        return self.num_colours * self.num_textures

    def attributes(self, label: int) -> Tuple[int, int]:
        """(colour index, texture index) of class ``label``."""
        return divmod(label, self.num_textures)

    @property
    def class_names(self) -> List[str]:
        """Colour-major: ``'red plain', 'red striped', ...``."""
        return [f'{c} {t}' for c in self.colours for t in self.textures]

    def _held_out(self) -> Tuple[int, ...]:
        first_colour = self.num_colours - self.held_out_colours
        first_texture = self.num_textures - self.held_out_textures
        held = {
            label
            for label in range(self.num_classes)
            if self.attributes(label)[0] >= first_colour
            or self.attributes(label)[1] >= first_texture
        }
        rest = [label for label in range(self.num_classes)
                if label not in held]
        if self.held_out_pairs == 0:
            return tuple(sorted(held))
        rng = np.random.default_rng(self.seed)
        for _ in range(1000 if self.held_out_pairs <= len(rest) else 0):
            pairs = rng.choice(rest, self.held_out_pairs, replace=False)
            seen = [label for label in rest if label not in set(pairs)]
            attrs = [self.attributes(label) for label in seen]
            if ({a[0] for a in attrs} == set(range(first_colour))
                    and {a[1] for a in attrs} == set(range(first_texture))):
                return tuple(sorted(held | {int(p) for p in pairs}))
        raise ValueError(
            f'cannot hold out {self.held_out_pairs} more pairs among the '
            f'{len(rest)} seen classes and keep every seen colour and '
            'texture in a seen class')

    @property
    def unseen_classes(self) -> Tuple[int, ...]:
        """Labels (in the full vocabulary) of the held-out classes."""
        return self._held_out()

    @property
    def seen_classes(self) -> Tuple[int, ...]:
        unseen = set(self.unseen_classes)
        return tuple(c for c in range(self.num_classes) if c not in unseen)

    def vocabulary(self) -> Vocabulary:
        """Every class: the test vocabulary."""
        return Vocabulary(self.class_names, source='toy world')

    def seen_vocabulary(self) -> Vocabulary:
        """The seen classes: the training vocabulary."""
        names = self.class_names
        return Vocabulary([names[c] for c in self.seen_classes],
                          source='toy world, seen classes')

    def params(self) -> dict:
        return asdict(self)

    # ------------------------------------------------------------------
    # scenes
    def layout(self, rng: np.random.Generator,
               num_regions: int) -> np.ndarray:
        """(H, W) int map of ``num_regions`` Voronoi cells, labelled
        0..num_regions-1, every one non-empty and seeds at least a fifth of
        the image apart where possible."""
        size = self.image_size
        min_dist = size / 5
        for _ in range(100):
            seeds = rng.uniform(0, size, (num_regions, 2))
            gaps = np.linalg.norm(seeds[:, None] - seeds[None], axis=-1)
            if num_regions == 1 or gaps[np.triu_indices(num_regions, 1)].min(
            ) >= min_dist:
                break
        y, x = (g[..., None] + 0.5 for g in pixel_grid(size))
        dist = (y - seeds[:, 0])**2 + (x - seeds[:, 1])**2
        cells = dist.argmin(-1)
        # renumber so that every cell label is used
        _, cells = np.unique(cells, return_inverse=True)
        return cells.reshape(size, size)

    def render(self, rng: np.random.Generator, cells: np.ndarray,
               labels: Sequence[int]) -> np.ndarray:
        """(H, W, 3) uint8 RGB image of a layout whose cell i has class
        ``labels[i]``."""
        size = self.image_size
        pattern_fns = list(TEXTURES.values())
        palette = np.asarray(list(COLOURS.values()), np.float32)
        attrs = [self.attributes(int(label)) for label in labels]
        rgbs = palette[[a[0] for a in attrs]] + rng.uniform(
            -COLOUR_JITTER, COLOUR_JITTER, (len(attrs), 3))
        patterns = np.stack([pattern_fns[a[1]](rng, size) for a in attrs])
        pattern = np.take_along_axis(patterns, cells[None], 0)[0]
        shade = 1 - (1 - DARK_SHADE) * pattern
        image = rgbs.astype(np.float32)[cells] * shade[..., None]
        image += PIXEL_NOISE * rng.standard_normal(image.shape, np.float32)
        return np.clip(np.rint(image), 0, 255).astype(np.uint8)

    def scene(
            self,
            rng: np.random.Generator,
            classes: Sequence[int],
            num_regions: Optional[int] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """A random scene of distinct classes drawn from ``classes``.

        Returns:
            (H, W, 3) uint8 RGB image and (H, W) int64 label map of class
            labels (full vocabulary).
        """
        if num_regions is None:
            num_regions = int(
                rng.integers(self.min_regions, self.max_regions + 1))
        num_regions = min(num_regions, len(classes))
        cells = self.layout(rng, num_regions)
        labels = rng.choice(np.asarray(classes), num_regions, replace=False)
        labels = labels[:cells.max() + 1]
        return self.render(rng, cells, labels), labels[cells].astype(np.int64)
