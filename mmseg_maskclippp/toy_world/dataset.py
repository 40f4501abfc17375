"""``type='ToyWorldDataset'``: one split of the toy world's segmentation
data, with the class names of its vocabulary file."""
import os.path as osp

from mmseg.datasets import BaseSegDataset

from mmseg_maskclippp.registry import DATASETS
from mmseg_maskclippp.vocabulary import Vocabulary


@DATASETS.register_module()
class ToyWorldDataset(BaseSegDataset):
    """mmseg's ``BaseSegDataset`` on PNG images and PNG label maps whose
    classes are read from a vocabulary file.

    Args:
        vocabulary: vocabulary file of the split's label space, relative to
            ``data_root`` (``'seen.txt'`` for training, ``'all.txt'`` for
            validation).
        **kwargs: as ``BaseSegDataset`` (``data_root``, ``data_prefix``,
            ``pipeline``, ...).
    """

    def __init__(self, vocabulary: str, data_root: str = '', **kwargs):
        path = osp.join(data_root, vocabulary)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'toy world vocabulary {path} not found: generate the data '
                'first (python tools/main_job.py does)')
        names = tuple(Vocabulary.from_file(path).names)
        super().__init__(
            data_root=data_root,
            metainfo=dict(classes=names),
            img_suffix='.png',
            seg_map_suffix='.png',
            reduce_zero_label=False,
            **kwargs)
