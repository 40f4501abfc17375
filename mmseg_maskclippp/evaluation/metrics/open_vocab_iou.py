"""mIoU with the paper's seen / unseen split (§4.1: mIoU(S) over the test
classes that also are training classes, mIoU(U) over the others)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmseg.evaluation import IoUMetric

from mmseg_maskclippp.registry import METRICS
from mmseg_maskclippp.vocabulary import VocabularyLike
from .seen_split import log_per_class_table, seen_classes, split_means


@METRICS.register_module()
class OpenVocabIoUMetric(IoUMetric):
    """mmseg's :class:`IoUMetric` plus means over seen and unseen classes.

    A test class is *seen* when one of its synonyms equals a synonym of a
    training class (:meth:`Vocabulary.seen_mask`). The split comes from the
    vocabularies given here or, by default, from the ``seen_classes`` that
    :class:`MaskCLIPpp` writes into its predictions. Besides mmseg's keys
    (``aAcc``, ``mIoU``, ``mAcc``, ...) it reports ``mIoU(S)``,
    ``mIoU(U)`` (and likewise for every other per-class metric) and a
    per-class table with a ``Seen`` column.

    Classes absent from both prediction and ground truth have no IoU (NaN)
    and are left out of every mean, as in mmseg; a split left without any
    evaluated class is not reported (no key).

    Args:
        train_vocabulary: the model's training classes (built-in name,
            vocabulary file or list); None: the split of the predictions,
            if any.
        test_vocabulary: the classes the model predicts, one per dataset
            class in label order.
        **kwargs: :class:`IoUMetric` arguments (``ignore_index``,
            ``iou_metrics``, ...).
    """

    def __init__(self,
                 train_vocabulary: Optional[VocabularyLike] = None,
                 test_vocabulary: Optional[VocabularyLike] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.train_vocabulary = train_vocabulary
        self.test_vocabulary = test_vocabulary

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """mmseg's areas of each image, plus the image's seen flags."""
        start = len(self.results)
        super().process(data_batch, data_samples)
        for i, sample in zip(range(start, len(self.results)), data_samples):
            self.results[i] = (*self.results[i], sample.get('seen_classes'))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        if self.format_only:
            return super().compute_metrics(results)
        class_names = self.dataset_meta['classes']
        seen = seen_classes(self.train_vocabulary, self.test_vocabulary,
                            class_names, [r[4] for r in results],
                            type(self).__name__)
        intersect, union, pred, label = (
            sum(r[i] for r in results) for i in range(4))
        per_class = self.total_area_to_metrics(intersect, union, pred, label,
                                               self.metrics, self.nan_to_num,
                                               self.beta)
        metrics = {'aAcc': float(np.round(per_class.pop('aAcc') * 100, 2))}
        for key, values in per_class.items():
            metrics.update(split_means('m' + key, np.asarray(values), seen))
        log_per_class_table(
            'per class results:', class_names, seen, {
                key: np.round(np.asarray(values) * 100, 2)
                for key, values in per_class.items()
            })
        return metrics
