"""Drawing MaskCLIP++ predictions: mmseg's ``SegLocalVisualizer`` for
semantic maps, mmdet's ``DetLocalVisualizer`` for panoptic segments and
instances, and a legend of the classes drawn.

The drawing is the image with coloured masks and class names on the
regions, followed on the right by a white legend panel of the same height
listing, by decreasing area, exactly the classes that appear in the drawing
(:func:`legend_entries`). An image whose shorter side is below a minimum
display size (64-pixel toy scenes) is drawn on a copy enlarged by a whole
factor, pixels repeated, so that names and legend stay readable.
"""
import itertools
import math
from typing import List, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_maskclippp.models.postprocessing import INSTANCE_OFFSET
from mmseg_maskclippp.models.segmentors.maskclippp import TASKS

FONT = cv2.FONT_HERSHEY_SIMPLEX
Colour = Tuple[int, int, int]
#: shorter side, in pixels, below which images are drawn enlarged
MIN_DISPLAY_SIZE = 256


def _panoptic_ids(sample: SegDataSample) -> torch.Tensor:
    return sample.pred_panoptic_seg.sem_seg[0].cpu()


def class_areas(sample: SegDataSample,
                task: str,
                num_classes: int,
                score_thr: float = 0.3) -> torch.Tensor:
    """(K,) pixels of every class in the drawn prediction of ``task``.

    Semantic: the labels of ``pred_sem_seg``; panoptic: the labels of the
    segments of ``pred_panoptic_seg`` (mmdet's ``label + instance *
    INSTANCE_OFFSET`` encoding, ``num_classes`` unassigned); instance: the
    labels of the instances scoring above ``score_thr`` (as mmdet draws
    them), with the area of their masks (at least 1 for a drawn class).
    """
    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    if task == 'semantic':
        labels = sample.pred_sem_seg.data[0].cpu().flatten()
        return torch.bincount(labels, minlength=num_classes)
    if task == 'panoptic':
        ids = _panoptic_ids(sample).flatten()
        ids = ids[ids != num_classes]
        return torch.bincount(ids % INSTANCE_OFFSET, minlength=num_classes)
    instances = sample.pred_instances
    keep = instances.scores.cpu() > score_thr
    labels = instances.labels.cpu()[keep]
    pixels = instances.masks.cpu()[keep].flatten(1).sum(1)
    areas = torch.zeros(num_classes, dtype=torch.long).index_add_(
        0, labels, pixels.long())
    areas[labels] = areas[labels].clamp(min=1)  # drawn, if empty
    return areas


def legend_entries(sample: SegDataSample,
                   task: str,
                   num_classes: int,
                   score_thr: float = 0.3) -> List[int]:
    """The classes present in the drawn prediction of ``task``, by
    decreasing area (ties: lower index first); see :func:`class_areas`."""
    areas = class_areas(sample, task, num_classes, score_thr)
    present = torch.nonzero(areas > 0).flatten().tolist()
    return sorted(present, key=lambda k: (-int(areas[k]), k))


def display_scale(height: int, width: int,
                  min_size: int = MIN_DISPLAY_SIZE) -> int:
    """The whole factor that brings the shorter side of an image to at
    least ``min_size`` pixels (1 when it is already there, or for
    ``min_size`` 0)."""
    return max(1, math.ceil(min_size / max(1, min(height, width))))


def enlarge_prediction(sample: SegDataSample, factor: int) -> SegDataSample:
    """The predictions of ``sample`` with every pixel repeated ``factor``
    times along both axes (masks, label and id maps; boxes scaled)."""

    def enlarge(x: torch.Tensor) -> torch.Tensor:
        return x.repeat_interleave(factor, -2).repeat_interleave(factor, -1)

    out = SegDataSample()
    if 'pred_sem_seg' in sample:
        out.pred_sem_seg = PixelData(data=enlarge(sample.pred_sem_seg.data))
    if 'pred_panoptic_seg' in sample:
        out.pred_panoptic_seg = PixelData(
            sem_seg=enlarge(sample.pred_panoptic_seg.sem_seg))
    if 'pred_instances' in sample:
        instances = sample.pred_instances.clone()
        instances.masks = enlarge(instances.masks)
        if 'bboxes' in instances:
            instances.bboxes = instances.bboxes * factor
        out.pred_instances = instances
    return out


def _legend_layout(names: Sequence[str], height: int):
    """Font scale, thickness, row height, rows per column and column width
    of a legend of ``names`` in a panel ``height`` pixels high."""
    scale = min(1.0, max(0.35, height / 900))
    thickness = 1 if scale < 0.7 else 2
    sizes = [cv2.getTextSize(n, FONT, scale, thickness) for n in names]
    text_h = max([h + base for (_, h), base in sizes] + [1])
    text_w = max([w for (w, _), _ in sizes] + [0])
    pad = max(2, text_h // 3)
    row = text_h + pad
    rows = max(1, (height - pad) // row)
    col_w = pad + text_h + pad + text_w + pad
    return scale, thickness, pad, row, rows, col_w


def legend_width(names: Sequence[str], height: int) -> int:
    """Width of the legend panel of ``names`` next to an image ``height``
    pixels high (0 when there is nothing to list)."""
    if not names:
        return 0
    *_, rows, col_w = _legend_layout(names, height)
    return math.ceil(len(names) / rows) * col_w


def draw_legend(image: np.ndarray, names: Sequence[str],
                colours: Sequence[Colour]) -> np.ndarray:
    """``image`` (H, W, 3) RGB with a legend panel appended on the right:
    a colour swatch and the name of every entry, in columns of the
    image's height. Returns (H, W + :func:`legend_width`, 3)."""
    height = image.shape[0]
    width = legend_width(names, height)
    if not width:
        return image
    scale, thickness, pad, row, rows, col_w = _legend_layout(names, height)
    panel = np.full((height, width, 3), 255, np.uint8)
    swatch = row - pad
    for i, (name, colour) in enumerate(zip(names, colours)):
        x = (i // rows) * col_w + pad
        y = (i % rows) * row + pad
        cv2.rectangle(panel, (x, y), (x + swatch - 1, y + swatch - 1),
                      tuple(int(c) for c in colour), -1)
        (_, text_h), base = cv2.getTextSize(name, FONT, scale, thickness)
        cv2.putText(panel, name, (x + swatch + pad, y + text_h + base // 2),
                    FONT, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return np.concatenate([image, panel], axis=1)


class PredictionVisualizer:
    """Draws predictions of one task with the OpenMMLab visualisers and adds
    the legend.

    Args:
        task: ``'semantic'``, ``'panoptic'`` or ``'instance'``.
        alpha: opacity of the masks.
        score_thr: instances scoring at or below it are not drawn.
        min_display_size: images with a shorter side below it are drawn
            enlarged (:func:`display_scale`); 0 draws every image at its
            size.
    """

    _ids = itertools.count()

    def __init__(self, task: str = 'semantic', alpha: float = 0.6,
                 score_thr: float = 0.3,
                 min_display_size: int = MIN_DISPLAY_SIZE):
        if task not in TASKS:
            raise ValueError(f'task must be one of {TASKS}, got {task!r}')
        if min_display_size < 0:
            raise ValueError('min_display_size must be >= 0, got '
                             f'{min_display_size}')
        self.task = task
        self.score_thr = score_thr
        self.min_display_size = min_display_size
        name = f'maskclippp_{task}_{next(self._ids)}'
        if task == 'semantic':
            from mmseg.visualization import SegLocalVisualizer
            self.visualizer = SegLocalVisualizer(name=name, alpha=alpha)
        else:
            from mmdet.visualization import DetLocalVisualizer
            self.visualizer = DetLocalVisualizer(name=name, alpha=alpha)

    def draw(self, image: np.ndarray, sample: SegDataSample,
             classes: Sequence[str],
             palette: Sequence[Colour]) -> Tuple[np.ndarray, List[int]]:
        """Draw ``sample``'s prediction on ``image`` (H, W, 3) RGB uint8.

        Returns:
            The drawing (s H, s W + legend width, 3) RGB, with ``s`` the
            :func:`display_scale` of the image, and the legend entries
            (class indices, :func:`legend_entries`).
        """
        classes, palette = list(classes), [tuple(c) for c in palette]
        entries = legend_entries(sample, self.task, len(classes),
                                 self.score_thr)
        factor = display_scale(*image.shape[:2], self.min_display_size)
        if factor > 1:
            image = image.repeat(factor, 0).repeat(factor, 1)
            sample = enlarge_prediction(sample, factor)
        if self.task == 'semantic':
            self.visualizer.set_dataset_meta(classes=classes, palette=palette)
            drawn = SegDataSample(pred_sem_seg=sample.pred_sem_seg)
        else:
            self.visualizer.dataset_meta = dict(
                classes=classes, palette=palette)
            drawn = DetDataSample()
            if self.task == 'panoptic':
                drawn.pred_panoptic_seg = sample.pred_panoptic_seg
            else:
                drawn.pred_instances = sample.pred_instances
        kwargs = dict(pred_score_thr=self.score_thr) \
            if self.task == 'instance' else {}
        if self.task == 'panoptic' and not entries:
            # no segment (all void): mmdet's visualiser cannot draw that
            drawing = np.ascontiguousarray(image)
        else:
            self.visualizer.add_datasample(
                'prediction', image, drawn, draw_gt=False, **kwargs)
            drawing = self.visualizer.get_image()
        picture = draw_legend(drawing, [classes[k] for k in entries],
                              [palette[k] for k in entries])
        return picture, entries
