"""mmdet's COCO instance metric for predictions over an open vocabulary."""
from typing import Optional, Sequence

import torch
from mmdet.evaluation import CocoMetric

from mmseg_maskclippp.registry import METRICS
from mmseg_maskclippp.vocabulary import Vocabulary, VocabularyLike


@METRICS.register_module()
class OpenVocabCocoMetric(CocoMetric):
    """:class:`mmdet.evaluation.CocoMetric` for instances labelled over the
    model's test vocabulary rather than the dataset's classes.

    The paper evaluates ADE20K instances with the panoptic model: masks are
    classified over all 150 classes and stuff predictions are dropped. The
    labels of ``pred_instances`` then index the test vocabulary, while the
    dataset has its own (thing) classes. ``dataset_classes`` names the
    dataset's classes as the test vocabulary does, in the dataset's label
    order (mmdet's ADE20K instance classes are the panoptic thing classes in
    the same order, some under other names, e.g. ``windowpane`` for
    ``window``); labels are mapped by these names and predictions of other
    classes are removed before mmdet's evaluation.

    Args:
        test_vocabulary: the vocabulary ``pred_instances.labels`` index.
        dataset_classes: the dataset's classes in label order, named as in
            the test vocabulary (built-in name, file or list); None: the
            dataset's own class names.
        **kwargs: :class:`CocoMetric` arguments.
    """

    def __init__(self,
                 test_vocabulary: VocabularyLike,
                 dataset_classes: Optional[VocabularyLike] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.test_vocabulary = Vocabulary.build(test_vocabulary)
        self.dataset_classes = Vocabulary.build(dataset_classes) \
            if dataset_classes is not None else None
        self._lut: Optional[torch.Tensor] = None

    def _label_lut(self) -> torch.Tensor:
        """(K_test,) dataset class of every test class, -1 if none."""
        if self._lut is None:
            num = len(self.dataset_meta['classes'])
            dataset = self.dataset_classes or Vocabulary(
                self.dataset_meta['classes'])
            if len(dataset) != num:
                raise ValueError(
                    f'OpenVocabCocoMetric: dataset_classes '
                    f'{dataset.source!r} has {len(dataset)} classes, the '
                    f'dataset {num}')
            known = set(self.test_vocabulary.names)
            missing = [n for n in dataset.names if n not in known]
            if missing:
                raise ValueError(
                    f'OpenVocabCocoMetric: dataset classes {missing[:5]} are '
                    f'not in the test vocabulary '
                    f'{self.test_vocabulary.source!r}')
            index = {name: i for i, name in enumerate(dataset.names)}
            self._lut = torch.tensor(
                [index.get(n, -1) for n in self.test_vocabulary.names])
        return self._lut

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """CocoMetric's processing of the samples with dataset labels (the
        samples, shared with other metrics, are not modified)."""
        lut = self._label_lut()
        mapped = []
        for sample in data_samples:
            pred = sample['pred_instances']
            labels = lut[pred['labels'].cpu()]
            keep = labels >= 0
            pred = {
                key: value[keep.to(value.device)]
                if isinstance(value, torch.Tensor) else value
                for key, value in pred.items()
            }
            pred['labels'] = labels[keep]
            mapped.append(dict(sample, pred_instances=pred))
        super().process(data_batch, mapped)
