# Paper Table 5, "MaskCLIP++ ViT-L/14": EVA02-CLIP ViT-L/14-336 fine-tuned on
# COCO-Stuff with the Linear PSM over one template (t1); the text encoder's
# position embedding and attention input projections train too (lr x0.01).
_base_ = [
    './_base_/models/maskclippp_eva02_l14_336.py',
    './_base_/datasets/coco_stuff_gt_masks_448.py',
    './_base_/maskclippp_runtime.py'
]
model = dict(
    train_vocabulary='coco_stuff',
    test_vocabulary='ade150',
    text_encoder=dict(templates='t1', finetune='attention'))
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'backbone.clip':
            dict(lr_mult=0.01),
            'backbone.clip.trunk.pos_embed':
            dict(lr_mult=0.01, decay_mult=0.0),
            'text_encoder.clip':
            dict(lr_mult=0.01),
            'text_encoder.clip.positional_embedding':
            dict(lr_mult=0.01, decay_mult=0.0),
        }))
