# Paper Table 4, "ConvNeXt-B" row: CLIP ConvNeXt-B fine-tuned on COCO
# panoptic (133 classes) with the PseudoText PSM, CLIP lr x0.001.
# Schedule: total batch 4 (2 GPUs x 2 images, auto_scale_lr), 20k iterations.
_base_ = [
    './benchmarks/_base_/maskclippp_convnext_b_coco-panoptic.py',
    './_base_/datasets/coco_panoptic_gt_masks.py',
    './_base_/maskclippp_runtime.py'
]
model = dict(test_vocabulary='ade150')
optim_wrapper = dict(
    paramwise_cfg=dict(lr_mult={'backbone.clip': 0.001}))
