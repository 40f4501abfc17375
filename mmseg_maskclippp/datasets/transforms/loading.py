"""Loading 16-bit label maps (A-847, PC-459: more than 255 classes)."""
import mmcv
import numpy as np
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations

from mmseg_maskclippp.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadUInt16Annotations(LoadAnnotations):
    """mmseg's :class:`LoadAnnotations` for 16-bit PNG label maps.

    mmseg casts every label map to uint8, which would wrap class 256 to 0
    and the ignore value 65535 to 255. This keeps the file's 16 bits:
    ``gt_seg_map`` is (H, W) uint16. Labels are used as stored, so
    ``reduce_zero_label`` and a dataset ``label_map`` are refused.
    """

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        seg = mmcv.imfrombytes(
            fileio.get(path, backend_args=self.backend_args),
            flag='unchanged',
            backend=self.imdecode_backend).squeeze()
        # Pillow may open 16-bit PNGs as 32-bit integers ('I' mode)
        if seg.dtype in (np.int32, np.uint32) and seg.size and \
                0 <= seg.min() and seg.max() <= np.iinfo(np.uint16).max:
            seg = seg.astype(np.uint16)
        if seg.dtype != np.uint16 or seg.ndim != 2:
            raise ValueError(f'{path}: expected a single-channel 16-bit '
                             f'label map, got {seg.dtype} {seg.shape}')
        if self.reduce_zero_label or results.get('reduce_zero_label'):
            raise ValueError(f'{path}: reduce_zero_label is not supported '
                             'for 16-bit label maps')
        if results.get('label_map'):
            raise ValueError(f'{path}: a class subset (label_map) is not '
                             'supported for 16-bit label maps')
        results['gt_seg_map'] = seg
        results['seg_fields'].append('gt_seg_map')
