"""Class-agnostic masks from Felzenszwalb's graph-based segmentation (no
weights needed: for toy data and demos without a trained generator)."""
from typing import List, Optional

import numpy as np
import torch
from skimage.segmentation import felzenszwalb

from mmseg_maskclippp.registry import MODELS
from .base import BaseMaskGenerator, GeneratedMasks


@MODELS.register_module()
class FelzenszwalbMaskGenerator(BaseMaskGenerator):
    """One binary mask per segment of ``skimage.segmentation.felzenszwalb``.

    Args:
        scale: higher gives fewer, larger segments (on the 0..255 colour
            scale, like the paper's k).
        sigma: std of the Gaussian smoothing before segmenting.
        min_size: minimum segment size in pixels.
        max_masks: keep only the largest this many segments (None: all);
            pixels of dropped segments are then covered by no mask.

    Masks come in increasing segment label order, without class logits.
    """

    def __init__(self,
                 scale: float = 300.0,
                 sigma: float = 0.8,
                 min_size: int = 100,
                 max_masks: Optional[int] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if scale <= 0 or sigma < 0 or min_size < 0:
            raise ValueError('scale must be > 0, sigma and min_size >= 0; '
                             f'got scale={scale}, sigma={sigma}, '
                             f'min_size={min_size}')
        if max_masks is not None and max_masks < 1:
            raise ValueError(f'max_masks must be >= 1 or None, got '
                             f'{max_masks}')
        self.scale = scale
        self.sigma = sigma
        self.min_size = min_size
        self.max_masks = max_masks

    def segment(self, image: torch.Tensor) -> np.ndarray:
        """(3, H, W) RGB 0..255 image -> (H, W) segment labels 0..S-1."""
        rgb = image.detach().round().clamp(0, 255).to('cpu',
                                                      torch.uint8).permute(
                                                          1, 2, 0).numpy()
        return felzenszwalb(
            rgb, scale=self.scale, sigma=self.sigma, min_size=self.min_size)

    def forward(self, images, data_samples) -> List[GeneratedMasks]:
        out = []
        for image in images:
            segments = torch.from_numpy(self.segment(image)).to(image.device)
            labels = torch.unique(segments)
            if self.max_masks is not None and len(labels) > self.max_masks:
                areas = torch.bincount(segments.flatten())[labels]
                largest = torch.sort(
                    torch.argsort(areas, descending=True,
                                  stable=True)[:self.max_masks]).values
                labels = labels[largest]
            masks = (segments[None] == labels[:, None, None]).float()
            out.append(GeneratedMasks(masks=masks))
        return out
