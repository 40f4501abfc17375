"""Packing: mmseg's PackSegInputs plus the per-mask targets."""
import numpy as np
import torch
from mmengine.structures import InstanceData
from mmseg.datasets.transforms import PackSegInputs

from mmseg_maskclippp.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackMaskCLIPInputs(PackSegInputs):
    """``PackSegInputs`` that also packs the masks of
    :class:`GenerateGTMasks` as ``data_sample.gt_instances`` (``masks``:
    (Q, H, W) bool tensor, ``labels``: (Q,) long tensor).

    Args:
        meta_keys: as ``PackSegInputs``; extra keys (for example
            ``segments_info`` for panoptic evaluation) are packed when
            present.
    """

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'gt_mask_labels' in results:
            masks = np.ascontiguousarray(results['gt_masks'], dtype=bool)
            packed['data_samples'].gt_instances = InstanceData(
                masks=torch.from_numpy(masks),
                labels=torch.from_numpy(
                    np.asarray(results['gt_mask_labels'], dtype=np.int64)))
        return packed
