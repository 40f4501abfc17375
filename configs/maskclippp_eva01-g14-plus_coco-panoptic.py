# Paper Table 4, "EVA01 ViT-g/14-plus" row: EVA01-CLIP ViT-g/14-plus on COCO
# panoptic with the Linear PSM; 448 crops give a 32 x 32 grid.
_base_ = [
    './_base_/models/maskclippp_eva01_g14_plus.py',
    './_base_/datasets/coco_panoptic_gt_masks_448.py',
    './_base_/maskclippp_runtime.py'
]
model = dict(train_vocabulary='coco_panoptic', test_vocabulary='ade150')
optim_wrapper = dict(
    paramwise_cfg=dict(lr_mult={'backbone.clip': 0.01}))
