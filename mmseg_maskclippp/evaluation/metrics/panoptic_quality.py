"""Panoptic quality (PQ, SQ, RQ) with or without ``panopticapi``.

mmdet's :class:`~mmdet.evaluation.CocoPanopticMetric` scores panoptic
predictions with ``panopticapi``, which is only installable from GitHub.
``PanopticQualityMetric`` (the name configs use) builds mmdet's metric when
``panopticapi`` is installed and otherwise :class:`HotcocoPanopticMetric`:
the same evaluation with the matching done by ``hotcoco`` (PyPI; its PQ
matches panopticapi's), the same arguments and the same result keys
(``coco_panoptic/PQ``, ``PQ_th``, ``PQ_st``, ... in percent).

The definition (Kirillov et al., panopticapi): per image, a predicted and a
ground-truth segment of one category match when their IoU is above 0.5,
where the union leaves out the prediction's pixels on unlabelled (void)
ground truth; unmatched ground-truth segments are false negatives (crowd
ones ignored), unmatched predictions false positives unless more than half
of them lies on void or a crowd region of their category. Per category,
summed over images: ``SQ = sum IoU / TP``, ``RQ = TP / (TP + FP / 2 + FN /
2)``, ``PQ = SQ * RQ``; each split (all, things, stuff) averages the
categories that have any TP, FP or FN.
"""
import os
import os.path as osp
import tempfile
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import mmcv
import numpy as np
from mmdet.evaluation.metrics.coco_panoptic_metric import (
    parse_pq_results, print_panoptic_table)
from mmengine.evaluator import BaseMetric
from mmengine.fileio import load
from mmengine.logging import MMLogger

from mmseg_maskclippp.registry import METRICS

#: mmdet's panoptic label encoding: label + instance * INSTANCE_OFFSET
INSTANCE_OFFSET = 1000


def id2rgb(ids: np.ndarray) -> np.ndarray:
    """(H, W) segment ids -> (H, W, 3) uint8 RGB of the COCO panoptic
    format (id = R + 256 * G + 256^2 * B)."""
    ids = np.asarray(ids, dtype=np.int64)
    return np.stack([ids % 256, ids // 256 % 256, ids // 256**2 % 256],
                    axis=-1).astype(np.uint8)


def pq_average(stats: Dict[int, np.ndarray], categories: Dict[int, dict],
               isthing: Optional[bool]) -> dict:
    """PQ, SQ, RQ averaged over the categories of a split that have any TP,
    FP or FN; ``stats`` maps category id to (TP, FP, FN, summed IoU).

    Returns:
        ``{'pq', 'sq', 'rq'}`` as fractions (0 where no category counts)
        and ``n``, the number of categories averaged.
    """
    pq = sq = rq = 0.0
    n = 0
    for cat_id, category in categories.items():
        if isthing is not None and bool(category['isthing']) != isthing:
            continue
        tp, fp, fn, iou = stats.get(cat_id, np.zeros(4))
        if tp + fp + fn == 0:
            continue
        n += 1
        rq_class = tp / (tp + 0.5 * fp + 0.5 * fn)
        sq_class = iou / tp if tp else 0.0
        pq += sq_class * rq_class
        sq += sq_class
        rq += rq_class
    if n == 0:
        return dict(pq=0.0, sq=0.0, rq=0.0, n=0)
    return dict(pq=pq / n, sq=sq / n, rq=rq / n, n=n)


@METRICS.register_module()
class HotcocoPanopticMetric(BaseMetric):
    """COCO panoptic PQ / SQ / RQ computed with ``hotcoco``.

    Arguments and results as mmdet's ``CocoPanopticMetric`` with an
    annotation file (the form the benchmark configs use): each image's
    prediction (``pred_panoptic_seg.sem_seg``, ``label + instance *
    1000``, ``len(classes)`` for void) is written as a COCO panoptic PNG
    into a temporary folder and matched against the ground-truth PNG of the
    image in ``seg_prefix``; per-category counts are summed over images.

    Args:
        ann_file: the COCO panoptic annotation file (images, annotations
            with ``segments_info``, categories with ``isthing``).
        seg_prefix: folder of the ground-truth panoptic PNGs.
        classwise: also log PQ / SQ / RQ per category.
    """
    default_prefix: Optional[str] = 'coco_panoptic'

    def __init__(self,
                 ann_file: str,
                 seg_prefix: str,
                 classwise: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        try:
            from hotcoco import panoptic
        except ImportError as e:
            raise ImportError(
                'PanopticQualityMetric needs panopticapi (pip install '
                'git+https://github.com/cocodataset/panopticapi.git) or '
                'hotcoco (pip install hotcoco)') from e
        super().__init__(collect_device=collect_device, prefix=prefix)
        self._panoptic_eval = panoptic.PanopticEval
        self.seg_prefix = seg_prefix
        self.classwise = classwise
        coco = load(ann_file)
        for key in ('images', 'annotations', 'categories'):
            if key not in coco:
                raise KeyError(f'{ann_file}: no {key!r} in a COCO panoptic '
                               'annotation file')
        self.categories = {c['id']: c for c in coco['categories']}
        self.images = {img['id']: img for img in coco['images']}
        self.annotations = {a['image_id']: a for a in coco['annotations']}
        self.ann_file = ann_file
        self._label2cat: Optional[List[int]] = None
        self._tmp_dir = tempfile.TemporaryDirectory()

    def __del__(self) -> None:
        if hasattr(self, '_tmp_dir'):
            self._tmp_dir.cleanup()

    def label2cat(self) -> List[int]:
        """Category id of every dataset label (``dataset_meta['classes']``
        matched by name to the annotation file's categories)."""
        if self._label2cat is None:
            by_name = {c['name']: i for i, c in self.categories.items()}
            classes = self.dataset_meta['classes']
            missing = [n for n in classes if n not in by_name]
            if missing:
                raise KeyError(f'{self.ann_file}: no category named '
                               f'{missing[:5]} (dataset classes)')
            self._label2cat = [by_name[n] for n in classes]
        return self._label2cat

    def _write_prediction(self, panoptic: np.ndarray, img_id: int) -> dict:
        """COCO panoptic PNG + annotation of one (H, W) prediction; its
        segments are numbered 1.. (0 is void)."""
        label2cat = self.label2cat()
        void = len(label2cat)
        ids = np.zeros(panoptic.shape, dtype=np.int64)
        segments = []
        for value in np.unique(panoptic):
            label = int(value) % INSTANCE_OFFSET
            if label == void:
                continue
            if label > void:
                raise ValueError(f'image {img_id}: panoptic label {label} '
                                 f'outside the {void} dataset classes')
            segments.append(
                dict(id=len(segments) + 1, category_id=label2cat[label]))
            ids[panoptic == value] = len(segments)
        file_name = f'{img_id}.png'
        mmcv.imwrite(
            id2rgb(ids)[..., ::-1], osp.join(self._tmp_dir.name, file_name))
        return dict(
            image_id=img_id, file_name=file_name, segments_info=segments)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Per image, the (TP, FP, FN, IoU) of every category it has."""
        for sample in data_samples:
            img_id = sample['img_id']
            if img_id not in self.annotations or img_id not in self.images:
                raise KeyError(f'{self.ann_file}: no annotation for image '
                               f'{img_id}')
            panoptic = sample['pred_panoptic_seg']['sem_seg'][0]
            pred = self._write_prediction(panoptic.cpu().numpy(), img_id)
            gt = dict(
                images=[self.images[img_id]],
                annotations=[self.annotations[img_id]],
                categories=list(self.categories.values()))
            evaluation = self._panoptic_eval(
                gt,
                dict(annotations=[pred]),
                gt_folder=self.seg_prefix,
                pred_folder=self._tmp_dir.name)
            evaluation.evaluate()
            os.remove(osp.join(self._tmp_dir.name, pred['file_name']))
            per_class = evaluation.results()['per_class']
            self.results.append({
                int(cat_id): np.array(
                    [c['tp'], c['fp'], c['fn'], c['iou']], dtype=np.float64)
                for cat_id, c in per_class.items()
                if c['tp'] + c['fp'] + c['fn'] > 0
            })

    def compute_metrics(self, results: list) -> Dict[str, float]:
        stats: Dict[int, np.ndarray] = defaultdict(lambda: np.zeros(4))
        for image_stats in results:
            for cat_id, counts in image_stats.items():
                stats[cat_id] += counts
        pq_results = {
            name: pq_average(stats, self.categories, isthing)
            for name, isthing in (('All', None), ('Things', True),
                                  ('Stuff', False))
        }
        classwise = None
        if self.classwise:
            classwise = {
                c['name']: pq_average({i: stats[i]}, {i: c}, None)
                for i, c in self.categories.items()
            }
        print_panoptic_table(
            pq_results, classwise, logger=MMLogger.get_current_instance())
        return parse_pq_results(pq_results)


def build_panoptic_quality_metric(**kwargs) -> BaseMetric:
    """mmdet's ``CocoPanopticMetric`` when ``panopticapi`` is installed,
    else :class:`HotcocoPanopticMetric` (same arguments and results)."""
    try:
        import panopticapi  # noqa: F401
    except ImportError:
        return HotcocoPanopticMetric(**kwargs)
    from mmdet.evaluation import CocoPanopticMetric
    return CocoPanopticMetric(**kwargs)


METRICS.register_module(
    name='PanopticQualityMetric', module=build_panoptic_quality_metric)
