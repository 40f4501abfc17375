"""Mask-classification accuracy with ground-truth masks (the paper's
"ideal mask generator", Fig. 1 and the official README's mask accuracy)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmseg_maskclippp.registry import METRICS
from mmseg_maskclippp.vocabulary import VocabularyLike
from .seen_split import log_per_class_table, seen_classes, split_means


@METRICS.register_module()
class MaskAccuracyMetric(BaseMetric):
    """Accuracy of the class predicted for every ground-truth mask.

    Reads ``pred_mask_labels`` (``pred`` and ``gt`` class of each GT mask,
    written by :class:`MaskCLIPpp` with the ``GTMaskGenerator``) and
    accumulates a (K, K) confusion matrix (rows: GT, columns: prediction).

    Reports ``MaskAcc`` (correct masks / all masks), ``mMaskAcc`` (mean over
    the classes with at least one GT mask of the per-class accuracy) and,
    with a seen / unseen split, ``mMaskAcc(S)`` / ``mMaskAcc(U)`` (a split
    without any GT mask is not reported). The split comes from the
    vocabularies given here or, by default, from the ``seen_classes`` that
    :class:`MaskCLIPpp` writes into its predictions.

    Args:
        train_vocabulary: the model's training classes; None: the split of
            the predictions, if any.
        test_vocabulary: the classes the model predicts, in label order.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 train_vocabulary: Optional[VocabularyLike] = None,
                 test_vocabulary: Optional[VocabularyLike] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.train_vocabulary = train_vocabulary
        self.test_vocabulary = test_vocabulary

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            if 'pred_mask_labels' not in sample:
                raise KeyError(
                    f'{sample.get("img_path", "a test image")}: no '
                    'pred_mask_labels; MaskAccuracyMetric needs the '
                    "GT-oracle generator (dict(type='GTMaskGenerator'))")
            labels = sample['pred_mask_labels']
            gt = labels['gt'].cpu().numpy().astype(np.int64)
            pred = labels['pred'].cpu().numpy().astype(np.int64)
            for name, values in (('gt', gt), ('pred', pred)):
                bad = values[(values < 0) | (values >= num_classes)]
                if len(bad):
                    raise ValueError(
                        f'{sample.get("img_path", "a test image")}: '
                        f'{name} mask label {int(bad[0])} is outside the '
                        f'{num_classes} dataset classes')
            confusion = np.bincount(
                gt * num_classes + pred,
                minlength=num_classes**2).reshape(num_classes, num_classes)
            self.results.append((confusion, sample.get('seen_classes')))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        class_names = self.dataset_meta['classes']
        seen = seen_classes(self.train_vocabulary, self.test_vocabulary,
                            class_names, [r[1] for r in results],
                            type(self).__name__)
        confusion = sum(r[0] for r in results)
        num_gt = confusion.sum(1)
        if not num_gt.sum():
            raise ValueError('MaskAccuracyMetric: no ground-truth mask was '
                             'evaluated')
        with np.errstate(invalid='ignore', divide='ignore'):
            per_class = np.where(num_gt > 0,
                                 np.diag(confusion) / num_gt, np.nan)
        metrics = {
            'MaskAcc':
            float(np.round(np.trace(confusion) / num_gt.sum() * 100, 2))
        }
        metrics.update(split_means('mMaskAcc', per_class, seen))
        log_per_class_table(
            'per class mask accuracy:', class_names, seen, {
                'Masks': num_gt.tolist(),
                'MaskAcc': np.round(per_class * 100, 2).tolist()
            })
        return metrics
