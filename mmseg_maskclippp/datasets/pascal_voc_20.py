"""PASCAL VOC 2012 without background (PAS-20)."""
from mmseg.datasets import PascalVOCDataset

from mmseg_maskclippp.registry import DATASETS


@DATASETS.register_module()
class PascalVOC20Dataset(PascalVOCDataset):
    """PAS-20: the 20 object classes of PASCAL VOC 2012, background
    ignored, as in the open-vocabulary protocol (1,449 val images).

    Reads the release's ``SegmentationClass`` PNGs directly: with
    ``reduce_zero_label`` background 0 and the boundary value 255 become
    the ignore index 255 and classes 1..20 become 0..19, so no conversion
    is needed.
    """

    METAINFO = dict(
        classes=PascalVOCDataset.METAINFO['classes'][1:],
        palette=PascalVOCDataset.METAINFO['palette'][1:])

    def __init__(self, ann_file: str, reduce_zero_label: bool = True,
                 **kwargs):
        if not reduce_zero_label:
            raise ValueError('PascalVOC20Dataset: VOC labels have background '
                             '0, reduce_zero_label must be True')
        super().__init__(
            ann_file=ann_file, reduce_zero_label=True, **kwargs)
