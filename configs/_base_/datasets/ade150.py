# ADE20K (SceneParsing 2016) validation, 2,000 images, 150 classes;
# mmseg's ADE20KDataset (label 0 unlabelled -> ignore 255). Test size short
# side 1024, long side <= 2048 (CLIP and the mask generator resize again
# themselves); benchmark leaves replace this resize (pipeline[1], as in every
# dataset base) by their model's official test size.
# Benchmark leaves read `test_vocabulary`, `test_tasks`, `thing_classes` and
# `ignore_index` from here.
test_vocabulary = 'ade150'
test_tasks = ('semantic', )
thing_classes = None
ignore_index = 255
test_dataloader = dict(
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
test_evaluator = dict(
    type='OpenVocabIoUMetric',
    ignore_index=ignore_index,
    iou_metrics=['mIoU'])
val_dataloader = test_dataloader
val_evaluator = test_evaluator
