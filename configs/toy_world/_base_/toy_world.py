# The embedded toy world (mmseg_maskclippp.toy_world, docs/toy_world.md):
# 6 colours x 5 textures = 30 classes; every orange and every wavy class is
# held out (10 unseen). tools/main_job.py draws the data and pretrains the
# toy CLIP from these parameters when they are missing or changed.
data_root = 'work_dirs/toy_world/data'
toy_world = dict(
    world=dict(
        image_size=64,
        num_colours=6,
        num_textures=5,
        held_out_colours=1,
        held_out_textures=1,
        held_out_pairs=0,
        min_regions=2,
        max_regions=4,
        seed=0),
    data=dict(root=data_root, num_train=1000, num_val=200, seed=0),
    clip=dict(
        checkpoint='work_dirs/toy_world/clip/toy-world-vit.pt',
        pretrain=dict(
            model_name='toy-world-vit',
            steps=300,
            batch_size=64,
            lr=5e-4,
            weight_decay=0.1,
            warmup=10,
            final_single_share=0.25,
            hard_negatives=True,
            seed=0)))

# training: seen classes only, labelled in seen.txt; one GT mask per class
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='GenerateGTMasks', source='semantic'),
    dict(type='PackMaskCLIPInputs'),
]
# validation: seen and unseen classes, labelled in all.txt
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ToyWorldDataset',
        data_root=data_root,
        vocabulary='seen.txt',
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ToyWorldDataset',
        data_root=data_root,
        vocabulary='all.txt',
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# mIoU with the seen / unseen split and, with GT masks, mask accuracy
val_evaluator = [
    dict(type='OpenVocabIoUMetric', iou_metrics=['mIoU']),
    dict(type='MaskAccuracyMetric')
]
test_evaluator = val_evaluator
