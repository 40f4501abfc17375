# Paper Table 4, "ConvNeXt-L" row: CLIP ConvNeXt-L on COCO panoptic with the
# PseudoText PSM, base lr 1e-4 (official config), CLIP lr x0.001.
_base_ = [
    './_base_/models/maskclippp_convnext_l.py',
    './_base_/datasets/coco_panoptic_gt_masks.py',
    './_base_/maskclippp_runtime.py'
]
model = dict(train_vocabulary='coco_panoptic', test_vocabulary='ade150')
optim_wrapper = dict(
    optimizer=dict(lr=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone.clip': dict(lr_mult=0.001)}))
