"""Seen / unseen scores of a test run, for the main job's table.

This is a stop-gap on top of mmseg's ``IoUMetric`` maths, until the
project's open-vocabulary metrics (``OpenVocabIoUMetric``,
``MaskAccuracyMetric``) exist: a :class:`PredictionRecorder` hook keeps, per
test image, the areas of ``IoUMetric.intersect_and_union`` and the predicted
and GT class of every GT-oracle mask (``pred_mask_labels``);
:func:`seen_unseen_scores` turns them into per-class IoU with
``IoUMetric.total_area_to_metrics`` and averages them over all, seen and
unseen classes (``Vocabulary.seen_mask``), the way ``IoUMetric`` averages
(classes absent from both prediction and GT are skipped).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook
from mmseg.evaluation import IoUMetric


class PredictionRecorder(Hook):
    """Record a test run for :func:`seen_unseen_scores` and the figure.

    Args:
        num_classes: classes of the test vocabulary.
        ignore_index: unlabelled value of the GT maps.
        keep: image file names whose predicted maps are kept (``kept``).
    """

    priority = 'LOW'

    def __init__(self, num_classes: int, ignore_index: int = 255,
                 keep: Sequence[str] = ()):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.keep = set(keep)
        self.before_test(None)

    def before_test(self, runner) -> None:
        #: per image: (intersect, union, pred, label) areas, (K,) each
        self.areas: List[Sequence[torch.Tensor]] = []
        #: predicted and GT class of every GT mask (GT-oracle runs only)
        self.mask_pred: List[torch.Tensor] = []
        self.mask_gt: List[torch.Tensor] = []
        #: image file name -> (H, W) predicted label map
        self.kept: Dict[str, np.ndarray] = {}

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        for sample in outputs:
            pred = sample.pred_sem_seg.data.squeeze(0).cpu()
            gt = sample.gt_sem_seg.data.squeeze(0).cpu().to(pred)
            self.areas.append(
                IoUMetric.intersect_and_union(pred, gt, self.num_classes,
                                              self.ignore_index))
            if 'pred_mask_labels' in sample:
                self.mask_pred.append(sample.pred_mask_labels.pred.cpu())
                self.mask_gt.append(sample.pred_mask_labels.gt.cpu())
            name = osp.basename(sample.img_path)
            if name in self.keep:
                self.kept[name] = pred.numpy()


def _mean(values: np.ndarray) -> float:
    """nan-mean in %, NaN when nothing is left (as IoUMetric)."""
    values = values[~np.isnan(values)]
    return float(100 * values.mean()) if values.size else float('nan')


def seen_unseen_scores(recorder: PredictionRecorder,
                       seen: Sequence[bool]) -> Dict[str, float]:
    """mIoU, mIoU(S), mIoU(U) and, when GT-oracle masks were classified,
    mask accuracy over all, seen and unseen GT masks (``mAcc(masks)``,
    ``mAcc(S)``, ``mAcc(U)``), all in %.

    Args:
        recorder: a recorder that saw a whole test run.
        seen: (K,) whether each test class is seen.
    """
    seen = np.asarray(seen, dtype=bool)
    if len(seen) != recorder.num_classes:
        raise ValueError(f'{len(seen)} seen flags for '
                         f'{recorder.num_classes} classes')
    if not recorder.areas:
        raise ValueError('the recorder saw no test image')
    totals = [torch.stack(a).sum(0) for a in zip(*recorder.areas)]
    iou = IoUMetric.total_area_to_metrics(*totals, metrics=['mIoU'])['IoU']
    scores = {
        'mIoU': _mean(iou),
        'mIoU(S)': _mean(iou[seen]),
        'mIoU(U)': _mean(iou[~seen])
    }
    scores.update(mask_accuracy(recorder, seen))
    return scores


def mask_accuracy(recorder: PredictionRecorder,
                  seen: np.ndarray) -> Dict[str, Optional[float]]:
    """Share (%) of GT masks classified as their class: over all, seen and
    unseen masks; None without GT-oracle masks."""
    if not recorder.mask_gt:
        return {'mAcc(masks)': None, 'mAcc(S)': None, 'mAcc(U)': None}
    pred = torch.cat(recorder.mask_pred).numpy()
    gt = torch.cat(recorder.mask_gt).numpy()
    correct = (pred == gt).astype(float)
    is_seen = seen[gt]
    return {
        'mAcc(masks)': _mean(correct),
        'mAcc(S)': _mean(correct[is_seen]),
        'mAcc(U)': _mean(correct[~is_seen])
    }
