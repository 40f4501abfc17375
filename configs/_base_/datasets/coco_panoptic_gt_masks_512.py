# COCO panoptic fine-tuning data with 512 x 512 crops (32 x 32 CLIP grid for
# stride-16 ViTs).
_base_ = ['./coco_panoptic_gt_masks.py']
crop_size = (512, 512)
train_pipeline = _base_.train_pipeline
train_pipeline[3]['scale'] = crop_size  # mmdet.RandomResize
train_pipeline[4]['crop_size'] = crop_size  # mmdet.RandomCrop
train_pipeline[5]['size'] = crop_size  # mmdet.Pad
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
