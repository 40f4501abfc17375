"""COCO panoptic annotations without the ``panopticapi`` package.

mmdet's :class:`LoadPanopticAnnotations` imports ``panopticapi`` (only
installable from GitHub) for one function, ``rgb2id``. This subclass is the
same transform with that conversion written out, so training on COCO
panoptic needs nothing beyond PyPI.
"""
import numpy as np
from mmdet.datasets.transforms import LoadAnnotations, LoadPanopticAnnotations

from mmseg_maskclippp.registry import TRANSFORMS


def rgb2id(color: np.ndarray) -> np.ndarray:
    """Segment ids of a COCO panoptic PNG: (H, W, 3) RGB -> (H, W) int64,
    id = R + 256 * G + 256^2 * B (the COCO panoptic format)."""
    color = np.asarray(color, dtype=np.int64)
    return color[..., 0] + 256 * color[..., 1] + 256 * 256 * color[..., 2]


@TRANSFORMS.register_module()
class LoadCocoPanopticAnnotations(LoadPanopticAnnotations):
    """mmdet's ``LoadPanopticAnnotations`` (same arguments and outputs:
    ``gt_bboxes``, ``gt_bboxes_labels``, ``gt_masks``, ``gt_ignore_flags``,
    ``gt_seg_map``) that does not need ``panopticapi``."""

    def __init__(self,
                 with_bbox: bool = True,
                 with_label: bool = True,
                 with_mask: bool = True,
                 with_seg: bool = True,
                 box_type: str = 'hbox',
                 imdecode_backend: str = 'cv2',
                 backend_args: dict = None) -> None:
        # mmdet's __init__ only adds the panopticapi import to its parent's
        LoadAnnotations.__init__(
            self,
            with_bbox=with_bbox,
            with_label=with_label,
            with_mask=with_mask,
            with_seg=with_seg,
            with_keypoints=False,
            box_type=box_type,
            imdecode_backend=imdecode_backend,
            backend_args=backend_args)
        self.rgb2id = rgb2id
