# Paper Table 5, "MaskCLIP++ ConvNeXt-B": CLIP ConvNeXt-B fine-tuned on
# COCO-Stuff (171 classes) with the PseudoText PSM, CLIP lr x0.001.
# Schedule: total batch 4 (2 GPUs x 2 images, auto_scale_lr), 20k iterations.
_base_ = [
    './benchmarks/_base_/maskclippp_convnext_b_coco-stuff.py',
    './_base_/datasets/coco_stuff_gt_masks.py',
    './_base_/maskclippp_runtime.py'
]
model = dict(test_vocabulary='ade150')
optim_wrapper = dict(
    paramwise_cfg=dict(lr_mult={'backbone.clip': 0.001}))
