# ADE20K-150 validation: semantic segmentation of the GT masks
# classified by the model (the paper's "ideal mask generator"), used as the
# validation during fine-tuning. The image is resized to short side 1024
# (max 2048) as the official test mapper; CLIP resizes it again itself.
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ADE20KDataset',
        data_root='data/ade/ADEChallengeData2016',
        data_prefix=dict(
            img_path='images/validation',
            seg_map_path='annotations/validation'),
        reduce_zero_label=True,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='ResizeShortestEdge', scale=1024, max_size=2048),
            dict(type='LoadAnnotations', reduce_zero_label=True),
            dict(type='PackSegInputs'),
        ]))
test_dataloader = val_dataloader
# mIoU with its seen / unseen split, and mask-classification accuracy
val_evaluator = [
    dict(type='OpenVocabIoUMetric', iou_metrics=['mIoU']),
    dict(type='MaskAccuracyMetric'),
]
test_evaluator = val_evaluator
