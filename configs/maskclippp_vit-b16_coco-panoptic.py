# Paper Table 4, OpenAI "ViT-B/16" row: OpenAI CLIP ViT-B/16 on COCO
# panoptic with the Linear PSM; position embedding and attention input
# projections train at lr x0.01.
# Schedule: total batch 4 (2 GPUs x 2 images, auto_scale_lr), 20k iterations.
_base_ = [
    './benchmarks/_base_/maskclippp_vit-b16_coco-panoptic.py',
    './_base_/datasets/coco_panoptic_gt_masks_512.py',
    './_base_/maskclippp_runtime.py'
]
model = dict(test_vocabulary='ade150')
optim_wrapper = dict(
    paramwise_cfg=dict(lr_mult={'backbone.clip': 0.01}))
