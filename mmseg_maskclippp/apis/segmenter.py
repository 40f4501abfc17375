"""A segmentor loaded once that segments image after image, each with its
own vocabulary, task and ensemble weight: what an interactive demo serves
(``tools/web_demo.py``).

The model, its pipeline and its text tower stay in memory; a vocabulary
seen before costs nothing, a new one encodes only its new synonyms
(:meth:`OpenCLIPTextClassifier.embed`).
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import mmcv
import numpy as np
from torch import nn

from mmseg_maskclippp.models.segmentors.maskclippp import TASKS
from mmseg_maskclippp.vocabulary import Vocabulary
from .inference import build_test_pipeline, inference_segmentor
from .visualization import MIN_DISPLAY_SIZE, PredictionVisualizer, class_areas


@dataclass(frozen=True)
class LegendEntry:
    """A class of the drawing: its name, colour (RGB) and the share of the
    image's pixels it covers (0..1; overlapping instances count twice)."""

    name: str
    colour: Tuple[int, int, int]
    share: float


@dataclass
class Segmentation:
    """One image segmented.

    Attributes:
        drawing: (H', W', 3) RGB uint8, the masks with class names and the
            legend (:class:`PredictionVisualizer`).
        legend: the classes drawn, by decreasing area.
        labels: (H, W) int64, the semantic class index of every pixel.
        vocabulary: the classes the indices of ``labels`` refer to.
    """

    drawing: np.ndarray
    legend: List[LegendEntry]
    labels: np.ndarray
    vocabulary: Vocabulary

    def label_map(self) -> np.ndarray:
        """``labels`` as an image: 8 bit up to 256 classes, else 16."""
        return self.labels.astype(
            np.uint8 if len(self.vocabulary) <= 256 else np.uint16)


class Segmenter:
    """Serves one ``MaskCLIPpp`` (from :func:`init_segmentor`).

    Args:
        model: the segmentor, in eval mode, with ``model.cfg``.
        alpha: opacity of the drawn masks.
        score_thr: instances scoring at or below it are not drawn.
        min_display_size: images with a shorter side below it are drawn
            enlarged.

    Not thread-safe: serve one request at a time.
    """

    def __init__(self,
                 model: nn.Module,
                 alpha: float = 0.6,
                 score_thr: float = 0.3,
                 min_display_size: int = MIN_DISPLAY_SIZE):
        self.model = model
        self.pipeline = build_test_pipeline(model.cfg)
        self.visualizers: Dict[str, PredictionVisualizer] = {
            task: PredictionVisualizer(task, alpha, score_thr,
                                       min_display_size)
            for task in TASKS
        }
        self.score_thr = score_thr

    @property
    def uses_ensemble(self) -> bool:
        """Whether the generator has class scores that Eq. 4 mixes in (so
        that ``gamma`` matters)."""
        return self.model.ensemble is not None

    def segment(self,
                image: str,
                vocabulary: Vocabulary,
                task: str = 'semantic',
                gamma: Optional[float] = None) -> Segmentation:
        """Segment the image file ``image`` into the classes of
        ``vocabulary``.

        Args:
            image: an image file the test pipeline can read.
            vocabulary: the classes to segment.
            task: ``'semantic'``, ``'panoptic'`` or ``'instance'``: what is
                drawn and listed.
            gamma: the ensemble weight of Eq. 4 in [0, 1] (generators with
                class scores only); None keeps the model's.

        Raises:
            ValueError: unknown task, gamma outside [0, 1].
        """
        if task not in TASKS:
            raise ValueError(f'task must be one of {TASKS}, got {task!r}')
        model = self.model
        if gamma is not None:
            if not 0.0 <= gamma <= 1.0:
                raise ValueError(f'gamma must lie in [0, 1], got {gamma}')
            # set_vocabulary rebuilds the ensemble with the model's gamma
            model.gamma = float(gamma)
        model.test_cfg['tasks'] = (task, )
        model.set_vocabulary(vocabulary)
        sample = inference_segmentor(model, self.pipeline, image)
        meta = model.dataset_meta
        classes, palette = meta['classes'], meta['palette']
        drawing, entries = self.visualizers[task].draw(
            mmcv.imread(image, channel_order='rgb'), sample, classes,
            palette)
        labels = sample.pred_sem_seg.data[0].cpu().numpy()
        areas = class_areas(sample, task, len(classes), self.score_thr)
        legend = [
            LegendEntry(classes[k], tuple(palette[k]),
                        float(areas[k]) / labels.size) for k in entries
        ]
        return Segmentation(drawing, legend, labels, model.test_vocabulary)
