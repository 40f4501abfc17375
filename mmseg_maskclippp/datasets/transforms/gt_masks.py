"""Ground-truth masks as training targets: one binary mask per region."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg_maskclippp.registry import TRANSFORMS


@TRANSFORMS.register_module()
class GenerateGTMasks(BaseTransform):
    """Turn annotations into per-mask targets (after the geometric
    augmentations, so masks and image stay aligned).

    * ``source='semantic'``: one mask per class present in ``gt_seg_map``
      (COCO-Stuff style), ``ignore_index`` excluded, classes in increasing
      order;
    * ``source='panoptic'``: one mask per non-crowd segment of a COCO
      panoptic image as ``LoadCocoPanopticAnnotations`` (or mmdet's
      ``LoadPanopticAnnotations``) loads it with ``with_seg=True``: every
      non-crowd thing instance from ``gt_masks`` (mmdet keeps only those
      there), then one region per stuff class present in ``gt_seg_map``
      (labels ``num_things`` and up, mmdet's things-first order).

    An image whose crop left no mask gets zero masks; that is not an error.

    Required keys: ``gt_seg_map`` (semantic); ``gt_masks``,
    ``gt_bboxes_labels``, ``gt_seg_map`` and optionally ``gt_ignore_flags``
    (panoptic).

    Added keys: ``gt_masks`` (np.bool_ array, Q x H x W, replacing mmdet's
    BitmapMasks) and ``gt_mask_labels`` (np.int64, Q).

    Args:
        source: ``'semantic'`` or ``'panoptic'``.
        ignore_index: label of unlabelled pixels in ``gt_seg_map``.
        num_classes: if given, labels outside [0, num_classes) (other than
            ``ignore_index``) raise an error naming the image. Above 255 the
            label map must not be uint8 (mmseg's ``LoadAnnotations`` casts
            to uint8, wrapping labels 256 and up): load it with
            ``LoadUInt16Annotations``.
        num_things: panoptic only, the number of thing classes (80 for COCO
            panoptic); labels from here on are stuff.
    """

    def __init__(self,
                 source: str = 'semantic',
                 ignore_index: int = 255,
                 num_classes: Optional[int] = None,
                 num_things: Optional[int] = None):
        if source not in ('semantic', 'panoptic'):
            raise ValueError("source must be 'semantic' or 'panoptic', got "
                             f'{source!r}')
        if source == 'panoptic' and num_things is None:
            raise ValueError("GenerateGTMasks(source='panoptic') needs "
                             'num_things (80 for COCO panoptic) to tell stuff '
                             'labels in gt_seg_map from thing labels')
        self.source = source
        self.num_things = num_things
        self.ignore_index = ignore_index
        self.num_classes = num_classes

    def _check_labels(self, labels: np.ndarray, results: dict) -> None:
        if self.num_classes is None or labels.size == 0:
            return
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if bad.size:
            where = results.get('seg_map_path', results.get('img_path'))
            raise ValueError(
                f'{where}: label {int(bad[0])} is outside [0, '
                f'{self.num_classes}) and is not the ignore index '
                f'{self.ignore_index}')

    def _check_dtype(self, seg: np.ndarray, results: dict) -> None:
        if self.num_classes is not None and self.num_classes > 255 and \
                seg.dtype == np.uint8:
            where = results.get('seg_map_path', results.get('img_path'))
            raise ValueError(
                f'{where}: the label map is uint8 but there are '
                f'{self.num_classes} classes, so labels from 256 on have '
                'wrapped around; load it with '
                "dict(type='LoadUInt16Annotations') instead of "
                'LoadAnnotations')

    def transform(self, results: dict) -> dict:
        if 'gt_seg_map' in results:
            self._check_dtype(results['gt_seg_map'], results)
        if self.source == 'semantic':
            if 'gt_seg_map' not in results:
                raise KeyError(
                    "GenerateGTMasks(source='semantic') needs 'gt_seg_map'; "
                    'put LoadAnnotations before it')
            seg = results['gt_seg_map']
            labels = np.unique(seg)
            labels = labels[labels != self.ignore_index].astype(np.int64)
            self._check_labels(labels, results)
            masks = seg[None] == labels[:, None, None]
        else:
            missing = [
                k for k in ('gt_masks', 'gt_bboxes_labels', 'gt_seg_map')
                if k not in results
            ]
            if missing:
                raise KeyError(
                    f"GenerateGTMasks(source='panoptic') needs {missing}; put "
                    'LoadCocoPanopticAnnotations(with_seg=True) before it')
            gt_masks = results['gt_masks']
            things = gt_masks.to_ndarray() if hasattr(
                gt_masks, 'to_ndarray') else np.asarray(gt_masks)
            thing_labels = np.asarray(
                results['gt_bboxes_labels'], dtype=np.int64)
            crowd = np.asarray(
                results.get('gt_ignore_flags',
                            np.zeros(len(thing_labels), bool)),
                dtype=bool)
            seg = results['gt_seg_map']
            stuff_labels = np.unique(seg).astype(np.int64)
            stuff_labels = stuff_labels[(stuff_labels >= self.num_things)
                                        & (stuff_labels != self.ignore_index)]
            stuff = seg[None] == stuff_labels[:, None, None]
            masks = np.concatenate(
                [things[~crowd].astype(bool),
                 stuff.reshape(-1, *seg.shape)])
            labels = np.concatenate([thing_labels[~crowd], stuff_labels])
            self._check_labels(labels, results)
        results['gt_masks'] = masks.astype(bool, copy=False)
        results['gt_mask_labels'] = labels
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(source={self.source!r}, '
                f'ignore_index={self.ignore_index}, '
                f'num_classes={self.num_classes}, '
                f'num_things={self.num_things})')
