# Paper Table 4, "ConvNeXt-XXL" row: CLIP ConvNeXt-XXL on COCO panoptic
# with the PseudoText PSM, base lr 1e-4 (official config), CLIP lr x0.001.
# Schedule: total batch 4 (2 GPUs x 2 images, auto_scale_lr), 20k iterations.
_base_ = [
    './benchmarks/_base_/maskclippp_convnext_xxl_coco-panoptic.py',
    './_base_/datasets/coco_panoptic_gt_masks.py',
    './_base_/maskclippp_runtime.py'
]
model = dict(test_vocabulary='ade150')
# base lr 1e-4 (official config); the cosine still ends at 1e-5 (official
# BASE_LR_END) times each group's multiplier
lr, lr_end = 1e-4, 1e-5
optim_wrapper = dict(
    optimizer=dict(lr=lr),
    paramwise_cfg=dict(lr_mult={'backbone.clip': 0.001}))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        eta_min_ratio=lr_end / lr,
        T_max=20000,
        begin=0,
        end=20000,
        by_epoch=False)
]
