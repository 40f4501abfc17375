"""PASCAL Context with all 459 classes (PC-459)."""
from mmseg_maskclippp.registry import DATASETS
from .vocabulary_dataset import VocabularySegDataset


@DATASETS.register_module()
class PascalContext459Dataset(VocabularySegDataset):
    """PC-459: PASCAL VOC 2010 images with the full PASCAL Context labels.

    ``tools/dataset_converters/pascal_context_459.py`` writes the 16-bit
    label maps (``<data_root>/SegmentationClassContext459/<name>.png``,
    class ids 0..458, unlabelled 65535) and the class names to
    ``<data_root>/pc459_vocabulary.txt``; images are the release's
    ``JPEGImages``. ``ann_file`` lists the images (mmseg's PC-59 split file
    ``ImageSets/SegmentationContext/val.txt``). Load the labels with
    ``LoadUInt16Annotations``.
    """

    def __init__(self,
                 ann_file: str,
                 vocabulary_file: str = 'pc459_vocabulary.txt',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs):
        super().__init__(
            vocabulary_file=vocabulary_file,
            label_bits=16,
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs)
