from .mask_accuracy import MaskAccuracyMetric
from .open_vocab_coco import OpenVocabCocoMetric
from .open_vocab_iou import OpenVocabIoUMetric

__all__ = ['MaskAccuracyMetric', 'OpenVocabCocoMetric', 'OpenVocabIoUMetric']
