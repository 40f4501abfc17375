# COCO panoptic 2017 (133 classes) for MaskCLIP++ fine-tuning: one GT mask
# per non-crowd segment. Large-scale jitter as the official
# ``coco_panoptic_lsj`` mapper: flip, resize to 0.1..2.0 x crop size, fixed
# crop padded with grey 128. mmdet's dataset and transforms; the annotation
# loader is mmdet's without its panopticapi dependency.
# Leaf configs set ``crop_size`` so that the CLIP feature map is 32 x 32.
data_root = 'data/coco'
crop_size = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='LoadCocoPanopticAnnotations',
        with_bbox=True,
        with_mask=True,
        with_seg=True),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(
        type='mmdet.RandomResize',
        scale=crop_size,
        ratio_range=(0.1, 2.0),
        resize_type='mmdet.Resize',
        keep_ratio=True),
    dict(
        type='mmdet.RandomCrop',
        crop_size=crop_size,
        crop_type='absolute',
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='mmdet.Pad', size=crop_size, pad_val=dict(img=128)),
    dict(
        type='GenerateGTMasks',
        source='panoptic',
        num_things=80,
        num_classes=133),
    dict(type='PackMaskCLIPInputs'),
]
# 2 images per GPU; the paper's batch of 4 is 2 GPUs x 2 (auto_scale_lr)
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='mmdet.CocoPanopticDataset',
        data_root=data_root,
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(
            img='train2017/', seg='annotations/panoptic_train2017/'),
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=train_pipeline))
