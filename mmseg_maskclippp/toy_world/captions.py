"""Image-caption pairs of every class: the "web data" the toy CLIP is
pretrained on.

A caption names every region of its scene, ``'a photo of a red striped and
a blue dotted.'``; every class (seen or not) appears. Batches are drawn
deterministically from (seed, step), with two devices the toy world's
prototype found decisive:

* a curriculum of single-region scenes: their share of a batch falls
  linearly from 1 to ``final_single_share`` over the first half of
  pretraining (without it CLIP learns colour only);
* hard negatives: the second half of a batch repeats the layouts and
  colours of the first half with every texture shifted, so that texture
  words must be told apart.
"""
from typing import List, Sequence, Tuple

import numpy as np

from .world import ToyWorld

#: the prompt of the captions, the same as the ``t1`` template set
CAPTION_TEMPLATE = 'a photo of a {}.'


def caption(names: Sequence[str]) -> str:
    """``['red striped', 'blue dotted']`` -> ``'a photo of a red striped
    and a blue dotted.'``"""
    return CAPTION_TEMPLATE.format(' and a '.join(names))


class CaptionBatches:
    """Batches of captioned scenes of a world, over all its classes.

    Args:
        world: the world.
        batch_size: scenes per batch (even when ``hard_negatives``).
        total_steps: length of pretraining (sets the curriculum).
        seed: seed of the scenes.
        final_single_share: share of single-region scenes after the
            curriculum.
        hard_negatives: make the second half of each batch texture-shifted
            twins of the first half.
    """

    def __init__(self,
                 world: ToyWorld,
                 batch_size: int,
                 total_steps: int,
                 seed: int = 0,
                 final_single_share: float = 0.25,
                 hard_negatives: bool = True):
        if hard_negatives and (batch_size % 2 or world.num_textures < 2):
            raise ValueError('hard negatives need an even batch_size and at '
                             f'least 2 textures, got batch_size={batch_size}'
                             f', {world.num_textures} textures')
        if batch_size < 1 or total_steps < 1:
            raise ValueError('batch_size and total_steps must be >= 1, got '
                             f'{batch_size}, {total_steps}')
        if not 0 <= final_single_share <= 1:
            raise ValueError('final_single_share must be in [0, 1], got '
                             f'{final_single_share}')
        self.world = world
        self.batch_size = batch_size
        self.total_steps = total_steps
        self.seed = seed
        self.final_single_share = final_single_share
        self.hard_negatives = hard_negatives

    def single_share(self, step: int) -> float:
        """Share of single-region scenes at ``step``."""
        half = max(1, self.total_steps // 2)
        t = min(step / half, 1.0)
        return 1.0 - t * (1.0 - self.final_single_share)

    def _twin(self, labels: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
        """The same colours with every texture shifted by one random
        non-zero amount."""
        num_textures = self.world.num_textures
        shift = int(rng.integers(1, num_textures))
        colour, texture = np.divmod(labels, num_textures)
        return colour * num_textures + (texture + shift) % num_textures

    def batch(self, step: int) -> Tuple[np.ndarray, List[str]]:
        """(B, H, W, 3) uint8 RGB scenes and their B captions."""
        world = self.world
        rng = np.random.default_rng([self.seed, step])
        share = self.single_share(step)
        num_drawn = self.batch_size // 2 if self.hard_negatives \
            else self.batch_size
        every_class = np.arange(world.num_classes)
        names = world.class_names
        images, captions, scenes = [], [], []
        for _ in range(num_drawn):
            regions = 1 if rng.uniform() < share else int(
                rng.integers(max(2, world.min_regions),
                             world.max_regions + 1))
            regions = min(regions, world.max_regions)
            cells = world.layout(rng, regions)
            labels = rng.choice(every_class, cells.max() + 1, replace=False)
            scenes.append((cells, labels))
        if self.hard_negatives:
            scenes += [(cells, self._twin(labels, rng))
                       for cells, labels in scenes]
        for cells, labels in scenes:
            images.append(world.render(rng, cells, labels))
            captions.append(caption([names[c] for c in labels]))
        return np.stack(images), captions
