# COCO-Stuff 164k (171 classes) for MaskCLIP++ fine-tuning: one GT mask per
# class present. Augmentation as the official ``mask_former_semantic``
# mapper: short side chosen from 0.3..1.9 x crop size, random crop, SSD
# photometric distortion, horizontal flip. Leaf configs set ``crop_size`` so
# that the CLIP feature map is 32 x 32 (1024 for stride-32 CLIPs).
dataset_type = 'COCOStuffDataset'
data_root = 'data/coco_stuff164k'
crop_size = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomChoiceResize',
        scales=[int(crop_size[0] * x * 0.1) for x in range(3, 20)],
        resize_type='ResizeShortestEdge',
        max_size=4096),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='GenerateGTMasks', source='semantic', num_classes=171),
    dict(type='PackMaskCLIPInputs'),
]
# 2 images per GPU; the paper's batch of 4 is 2 GPUs x 2 (auto_scale_lr)
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='images/train2017', seg_map_path='annotations/train2017'),
        pipeline=train_pipeline))
