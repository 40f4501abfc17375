"""Semantic segmentation datasets whose classes are read from a vocabulary
file next to the data (written by a dataset converter or the toy world's
generator; mmseg ships no class list for them)."""
import os.path as osp
import warnings
from typing import Optional

from mmseg.datasets import BaseSegDataset

from mmseg_maskclippp.vocabulary import Vocabulary, VocabularyLike

#: at most this fraction of classes may be renamed (share no synonym with
#: the test vocabulary's class of the same label) before the label order is
#: taken to differ
MAX_RENAMED_FRACTION = 0.1


def check_label_order(labels: Vocabulary, test: Vocabulary,
                      where: str) -> None:
    """Check that ``labels`` (the classes of a dataset's label maps) and
    ``test`` (the vocabulary a model predicts) are the same classes in the
    same order: class ``i`` of each must share a synonym (ignoring case).

    Releases rename a few classes (PC-459's ``labels.txt`` says ``case``,
    ``light`` and ``wood`` where the protocol says ``computer case``,
    ``lamp`` and ``wood piece``): up to :data:`MAX_RENAMED_FRACTION` of the
    classes may differ, with a warning naming them; more means another order
    (or another class list) and raises.

    Raises:
        ValueError: the class counts differ, or too many classes differ;
            the message names the first differing class.
    """
    if len(labels) != len(test):
        raise ValueError(
            f'{where}: {len(labels)} classes but the test vocabulary '
            f'{test.source!r} has {len(test)}')
    differ = [
        i for i, (a, b) in enumerate(zip(labels.classes, test.classes))
        if not {s.lower() for s in a} & {s.lower() for s in b}
    ]
    if not differ:
        return
    first = differ[0]
    message = (
        f'{where}: {len(differ)} of {len(labels)} classes share no synonym '
        f'with the class of the same label in {test.source!r}, the first '
        f'is label {first}: {",".join(labels.classes[first])!r} vs '
        f'{",".join(test.classes[first])!r}')
    if len(differ) > MAX_RENAMED_FRACTION * len(labels):
        raise ValueError(
            f'{message}; the label maps are not in the order of the test '
            'vocabulary (see docs/benchmarks.md: use the vocabulary file '
            'as the test vocabulary, or labels in the protocol order)')
    warnings.warn(f'{message}; renamed classes (label, name here / in the '
                  'test vocabulary): ' + ', '.join(
                      f'{i} {labels.names[i]!r} / {test.names[i]!r}'
                      for i in differ))


class VocabularySegDataset(BaseSegDataset):
    """A :class:`BaseSegDataset` whose ``classes`` are the display names of a
    vocabulary file (label maps without background; by default 16-bit,
    ignore 65535).

    Args:
        vocabulary_file: ``id:name,synonym,...`` file, one line per label
            value in order; a relative path is taken from ``data_root``.
        test_vocabulary: the vocabulary the model predicts for this dataset
            when it is not the file's (a built-in protocol list such as
            ``'ade847'``): checked to be the file's classes in the file's
            order (:func:`check_label_order`). None: no check.
        ignore_index: the unlabelled value of the label maps.
        **kwargs: :class:`BaseSegDataset` arguments.
    """

    METAINFO: dict = dict()
    #: what the missing-vocabulary error tells the user to do
    VOCABULARY_SOURCE = ('it is written by the dataset converter (see '
                         'docs/benchmarks.md)')

    def __init__(self,
                 vocabulary_file: str,
                 test_vocabulary: Optional[VocabularyLike] = None,
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = None,
                 ignore_index: int = 65535,
                 reduce_zero_label: bool = False,
                 **kwargs):
        if reduce_zero_label:
            raise ValueError(f'{type(self).__name__}: labels are stored '
                             'without background, reduce_zero_label must be '
                             'False')
        if data_root is not None and not osp.isabs(vocabulary_file):
            vocabulary_file = osp.join(data_root, vocabulary_file)
        if not osp.isfile(vocabulary_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: vocabulary file {vocabulary_file} '
                f'not found; {self.VOCABULARY_SOURCE}')
        self.vocabulary_file = vocabulary_file
        vocabulary = Vocabulary.from_file(vocabulary_file)
        if test_vocabulary is not None:
            check_label_order(vocabulary, Vocabulary.build(test_vocabulary),
                              f'{type(self).__name__} {vocabulary_file}')
        names = tuple(vocabulary.names)
        metainfo = dict(metainfo or {})
        if 'classes' in metainfo and tuple(metainfo['classes']) != names:
            raise ValueError(
                f'{type(self).__name__}: metainfo classes differ from '
                f'{vocabulary_file}; class subsets are not supported')
        metainfo['classes'] = names
        super().__init__(
            metainfo=metainfo,
            data_root=data_root,
            ignore_index=ignore_index,
            reduce_zero_label=False,
            **kwargs)
