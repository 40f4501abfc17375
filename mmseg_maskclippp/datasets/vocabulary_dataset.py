"""Semantic segmentation datasets whose classes are read from a vocabulary
file next to the data (written by a dataset converter or the toy world's
generator; mmseg ships no class list for them)."""
import os.path as osp
from typing import Optional

from mmseg.datasets import BaseSegDataset

from mmseg_maskclippp.vocabulary import Vocabulary


class VocabularySegDataset(BaseSegDataset):
    """A :class:`BaseSegDataset` whose ``classes`` are the display names of a
    vocabulary file (label maps without background; by default 16-bit,
    ignore 65535).

    Args:
        vocabulary_file: ``id:name,synonym,...`` file, one line per label
            value in order; a relative path is taken from ``data_root``.
        ignore_index: the unlabelled value of the label maps.
        **kwargs: :class:`BaseSegDataset` arguments.
    """

    METAINFO: dict = dict()
    #: what the missing-vocabulary error tells the user to do
    VOCABULARY_SOURCE = ('it is written by the dataset converter (see '
                         'docs/benchmarks.md)')

    def __init__(self,
                 vocabulary_file: str,
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
        names = tuple(Vocabulary.from_file(vocabulary_file).names)
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
