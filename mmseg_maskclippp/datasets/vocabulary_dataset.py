"""Semantic segmentation datasets whose classes are read from a vocabulary
file next to the data (written by you, a dataset converter or the toy
world's generator; mmseg ships no class list for them)."""
import os.path as osp
import warnings
from typing import Optional

from mmseg.datasets import BaseSegDataset

from mmseg_maskclippp.registry import DATASETS
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


@DATASETS.register_module()
class VocabularySegDataset(BaseSegDataset):
    """``type='VocabularySegDataset'``: images and label maps whose classes
    are the display names of a vocabulary file next to the data (label maps
    without background: value ``i`` is the class on line ``i``).

    The dataset for your own data (docs/own_dataset.md): give each split the
    vocabulary of its label space (e.g. the seen classes for training, all
    classes for testing).

    Args:
        vocabulary_file: ``id:name,synonym,...`` file, one line per label
            value in order; a relative path is taken from ``data_root``.
        label_bits: bit depth of the label maps, 8 (at most 255 classes,
            loaded by mmseg's ``LoadAnnotations``) or 16 (at most 65535,
            loaded by ``LoadUInt16Annotations``).
        test_vocabulary: the vocabulary the model predicts for this dataset
            when it is not the file's (a built-in protocol list such as
            ``'ade847'``): checked to be the file's classes in the file's
            order (:func:`check_label_order`). None: no check.
        ignore_index: the unlabelled value of the label maps; None: the
            largest value of ``label_bits`` (255 or 65535).
        **kwargs: :class:`BaseSegDataset` arguments (``data_root``,
            ``data_prefix``, ``img_suffix``, ``seg_map_suffix``,
            ``pipeline``, ...).

    Raises:
        FileNotFoundError: no vocabulary file.
        ValueError: ``label_bits`` is not 8 or 16, ``ignore_index`` or the
            class count does not fit in it, the metainfo names other
            classes, or ``reduce_zero_label`` is set.
    """

    METAINFO: dict = dict()
    #: what the missing-vocabulary error tells the user to do
    VOCABULARY_SOURCE = ('write one line "<label value>:<name>,<synonym>,'
                         '..." per class, in label order (see '
                         'docs/own_dataset.md)')

    def __init__(self,
                 vocabulary_file: str,
                 label_bits: int,
                 test_vocabulary: Optional[VocabularyLike] = None,
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = None,
                 ignore_index: Optional[int] = None,
                 reduce_zero_label: bool = False,
                 **kwargs):
        name = type(self).__name__
        if reduce_zero_label:
            raise ValueError(f'{name}: labels are stored without '
                             'background, reduce_zero_label must be False')
        if label_bits not in (8, 16):
            raise ValueError(f'{name}: label_bits must be 8 or 16, got '
                             f'{label_bits!r}')
        largest = 2**label_bits - 1
        if ignore_index is None:
            ignore_index = largest
        if not 0 <= ignore_index <= largest:
            raise ValueError(
                f'{name}: ignore_index {ignore_index} does not fit in '
                f'{label_bits}-bit label maps (0..{largest})')
        if data_root is not None and not osp.isabs(vocabulary_file):
            vocabulary_file = osp.join(data_root, vocabulary_file)
        if not osp.isfile(vocabulary_file):
            raise FileNotFoundError(
                f'{name}: vocabulary file {vocabulary_file} not found; '
                f'{self.VOCABULARY_SOURCE}')
        self.vocabulary_file = vocabulary_file
        vocabulary = Vocabulary.from_file(vocabulary_file)
        if ignore_index < len(vocabulary):
            raise ValueError(
                f'{name}: ignore_index {ignore_index} is the label of class '
                f'{vocabulary.names[ignore_index]!r} in {vocabulary_file}; '
                f'{label_bits}-bit label maps leave {largest} for unlabelled '
                'pixels')
        if test_vocabulary is not None:
            check_label_order(vocabulary, Vocabulary.build(test_vocabulary),
                              f'{name} {vocabulary_file}')
        names = tuple(vocabulary.names)
        metainfo = dict(metainfo or {})
        if 'classes' in metainfo and tuple(metainfo['classes']) != names:
            raise ValueError(
                f'{name}: metainfo classes differ from {vocabulary_file}; '
                'class subsets are not supported')
        metainfo['classes'] = names
        self.label_bits = label_bits
        super().__init__(
            metainfo=metainfo,
            data_root=data_root,
            ignore_index=ignore_index,
            reduce_zero_label=False,
            **kwargs)
