from .mask_accuracy import MaskAccuracyMetric
from .open_vocab_coco import OpenVocabCocoMetric
from .open_vocab_iou import OpenVocabIoUMetric
from .panoptic_quality import (HotcocoPanopticMetric,
                               build_panoptic_quality_metric)

__all__ = [
    'HotcocoPanopticMetric', 'MaskAccuracyMetric', 'OpenVocabCocoMetric',
    'OpenVocabIoUMetric', 'build_panoptic_quality_metric'
]
