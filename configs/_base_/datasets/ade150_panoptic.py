# ADE20K panoptic validation (2,000 images, 100 thing + 50 stuff classes),
# evaluated by PanopticQualityMetric (PQ, SQ, RQ: mmdet's CocoPanopticMetric
# with panopticapi installed, else the same with hotcoco). mmdet's
# ADE20KPanopticDataset; prepare the COCO-format annotations with mmdet's
# tools/dataset_converters/ade20k2coco.py (see docs/benchmarks.md).
# The model classifies over the 150 panoptic classes (in mmdet's order) and
# gives thing classes one segment per instance.
data_root = 'data/ade/ADEChallengeData2016'
test_vocabulary = 'ade150_panoptic'
test_tasks = ('semantic', 'panoptic')
thing_classes = 'ade150_panoptic_things'
ignore_index = 255
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='mmdet.ADE20KPanopticDataset',
        data_root=data_root,
        ann_file='ade20k_panoptic_val.json',
        data_prefix=dict(img='images/validation/', seg='ade20k_panoptic_val/'),
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='ResizeShortestEdge', scale=1024, max_size=2048),
            dict(
                type='mmdet.PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                           'scale_factor')),
        ]))
test_evaluator = dict(
    type='PanopticQualityMetric',
    ann_file=data_root + '/ade20k_panoptic_val.json',
    seg_prefix=data_root + '/ade20k_panoptic_val/')
val_dataloader = test_dataloader
val_evaluator = test_evaluator
