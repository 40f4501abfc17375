"""``type='ToyWorldDataset'``: one split of the toy world's segmentation
data, a :class:`VocabularySegDataset` of 8-bit PNGs."""
from mmseg_maskclippp.datasets.vocabulary_dataset import VocabularySegDataset
from mmseg_maskclippp.registry import DATASETS


@DATASETS.register_module()
class ToyWorldDataset(VocabularySegDataset):
    """PNG images and 8-bit PNG label maps (ignore 255) whose classes are
    read from a vocabulary file that the toy world's generator writes.

    Args:
        vocabulary: vocabulary file of the split's label space, relative to
            ``data_root`` (``'seen.txt'`` for training, ``'all.txt'`` for
            validation).
        **kwargs: as :class:`VocabularySegDataset` (``data_root``,
            ``data_prefix``, ``pipeline``, ...).
    """

    VOCABULARY_SOURCE = 'generate the data first (python tools/main_job.py ' \
        'does)'

    def __init__(self, vocabulary: str, data_root: str = '', **kwargs):
        super().__init__(
            vocabulary_file=vocabulary,
            label_bits=8,
            data_root=data_root,
            img_suffix='.png',
            seg_map_suffix='.png',
            **kwargs)
