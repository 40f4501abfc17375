# Paper Table 4, "EVA01 ViT-g/14-plus" row: EVA01-CLIP ViT-g/14-plus on COCO
# panoptic with the Linear PSM; 448 crops give a 32 x 32 grid.
# Schedule: total batch 4 (2 GPUs x 2 images, auto_scale_lr), 20k iterations.
_base_ = [
    './benchmarks/_base_/maskclippp_eva01-g14-plus_coco-panoptic.py',
    './_base_/datasets/coco_panoptic_gt_masks_448.py',
    './_base_/maskclippp_runtime.py'
]
model = dict(test_vocabulary='ade150')
optim_wrapper = dict(
    paramwise_cfg=dict(lr_mult={'backbone.clip': 0.01}))
