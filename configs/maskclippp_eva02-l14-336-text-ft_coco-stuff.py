# Paper Table 5, "MaskCLIP++ ViT-L/14": EVA02-CLIP ViT-L/14-336 fine-tuned on
# COCO-Stuff with the Linear PSM over one template (t1). CLIP-T trains too,
# at lr x0.01: its position embedding, attention input-projection weights
# and, as in the official code the paper's numbers come from, every text
# block's LayerNorms and MLP ('attention+mlp'; 'attention' gives the
# paper's wording).
# Schedule: total batch 4 (2 GPUs x 2 images, auto_scale_lr), 20k iterations.
_base_ = [
    './benchmarks/_base_/maskclippp_eva02-l14-336-text-ft_coco-stuff.py',
    './_base_/datasets/coco_stuff_gt_masks_448.py',
    './_base_/maskclippp_runtime.py'
]
model = dict(test_vocabulary='ade150')
optim_wrapper = dict(
    paramwise_cfg=dict(
        lr_mult={
            'backbone.clip': 0.01,
            'text_encoder.clip': 0.01
        }))
