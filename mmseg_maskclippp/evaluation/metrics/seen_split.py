"""Seen / unseen split of a test vocabulary and the per-class table, shared
by the metrics."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger, print_log
from prettytable import PrettyTable

from mmseg_maskclippp.vocabulary import Vocabulary, VocabularyLike


def seen_classes(train_vocabulary: Optional[VocabularyLike],
                 test_vocabulary: Optional[VocabularyLike],
                 dataset_classes: Sequence[str],
                 predicted: List[Optional[Sequence[bool]]],
                 metric: str) -> Optional[np.ndarray]:
    """(K,) bool: test classes sharing a synonym with a training class.

    From the vocabularies when ``train_vocabulary`` is given, else from
    the ``seen_classes`` that :class:`MaskCLIPpp` writes into every
    prediction's metainfo (``predicted``, one entry per image, None where
    absent); None when neither exists (no split is reported).

    Raises when the split does not have one entry per dataset class (the
    labels would then mean different classes) or differs between images.
    """
    if train_vocabulary is not None:
        if test_vocabulary is None:
            raise ValueError(f'{metric}: train_vocabulary needs '
                             'test_vocabulary (the classes the model '
                             'predicts)')
        test = Vocabulary.build(test_vocabulary)
        if len(test) != len(dataset_classes):
            raise ValueError(
                f'{metric}: test_vocabulary {test.source!r} has {len(test)} '
                f'classes but the dataset has {len(dataset_classes)}')
        return np.array(test.seen_mask(Vocabulary.build(train_vocabulary)))
    given = [tuple(p) for p in predicted if p is not None]
    if not given:
        return None
    if len(given) != len(predicted) or len(set(given)) != 1:
        raise ValueError(f'{metric}: the predictions disagree on '
                         'seen_classes (different models or vocabularies)')
    if len(given[0]) != len(dataset_classes):
        raise ValueError(
            f'{metric}: the model predicts {len(given[0])} classes but the '
            f'dataset has {len(dataset_classes)}')
    return np.array(given[0], dtype=bool)


def split_means(name: str, per_class: np.ndarray,
                seen: Optional[np.ndarray]) -> Dict[str, float]:
    """``{name: mean, name(S): mean over seen, name(U): ...}`` in percent.

    NaN entries (classes absent from prediction and ground truth) are left
    out of every mean, as mmseg does. A split without any evaluated class
    (no seen class at all, or none of them present) is not reported: the
    key is absent rather than NaN. No evaluated class at all is an error.
    """
    evaluated = ~np.isnan(per_class)
    if not evaluated.any():
        raise ValueError(
            f'{name}: no class was evaluated (every class is absent from both '
            'the predictions and the ground truth)')
    out = {name: float(np.round(per_class[evaluated].mean() * 100, 2))}
    if seen is not None:
        for suffix, select in (('(S)', seen), ('(U)', ~seen)):
            values = per_class[select & evaluated]
            if len(values):
                out[name + suffix] = float(np.round(values.mean() * 100, 2))
            else:
                print_log(
                    f'{name}{suffix} not reported: none of its classes '
                    'was evaluated', MMLogger.get_current_instance())
    return out


def log_per_class_table(title: str, class_names: Sequence[str],
                        seen: Optional[np.ndarray],
                        columns: Dict[str, Sequence]) -> None:
    """Log a per-class table: ``Class``, ``Seen`` (with a split), then
    ``columns`` (name -> one value per class)."""
    table = OrderedDict(Class=list(class_names))
    if seen is not None:
        table['Seen'] = ['yes' if s else 'no' for s in seen]
    table.update(columns)
    pretty = PrettyTable()
    for key, values in table.items():
        pretty.add_column(key, list(values))
    logger = MMLogger.get_current_instance()
    print_log(title, logger)
    print_log('\n' + pretty.get_string(), logger=logger)
