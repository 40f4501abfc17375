# COCO-Stuff fine-tuning data with 448 x 448 crops (32 x 32 CLIP grid for
# stride-14 ViTs).
_base_ = ['./coco_stuff_gt_masks.py']
crop_size = (448, 448)
train_pipeline = _base_.train_pipeline
train_pipeline[2]['scales'] = [  # RandomChoiceResize
    int(crop_size[0] * x * 0.1) for x in range(3, 20)
]
train_pipeline[3]['crop_size'] = crop_size  # RandomCrop
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
