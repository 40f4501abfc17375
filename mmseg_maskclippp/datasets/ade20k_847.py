"""ADE20K-full with 847 classes (A-847)."""
from mmseg_maskclippp.registry import DATASETS
from .vocabulary_dataset import VocabularySegDataset


@DATASETS.register_module()
class ADE20K847Dataset(VocabularySegDataset):
    """A-847: the ADE20K_2021_17_01 release with 847 object classes.

    ``tools/dataset_converters/ade20k_847.py`` writes the 16-bit label maps
    (``<data_root>/annotations_847/<split>/<scene>/ADE_*.png``, class ids
    0..846, unlabelled 65535) next to the release's images
    (``images/ADE/<split>/<scene>/ADE_*.jpg``) and the class names to
    ``<data_root>/ade847_vocabulary.txt``. Load the labels with
    ``LoadUInt16Annotations``.
    """

    def __init__(self,
                 vocabulary_file: str = 'ade847_vocabulary.txt',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs):
        super().__init__(
            vocabulary_file=vocabulary_file,
            label_bits=16,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs)
