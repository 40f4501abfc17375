# Paper Table 5 "MaskCLIP++ ConvNeXt-B" setting on PAS-20: ConvNeXt-B
# fine-tuned on COCO-Stuff, ground-truth masks (ideal generator), gamma 0.0.
_base_ = [
    './_base_/maskclippp_convnext_b_coco-stuff.py',
    '../_base_/datasets/voc20.py',
    '../_base_/generators/gt_oracle.py',
]
# the model's official test size (test_resize) replaces the dataset's
test_pipeline = _base_.test_dataloader.dataset.pipeline
test_pipeline[1] = _base_.test_resize  # ResizeShortestEdge
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
model = dict(
    test_vocabulary=_base_.test_vocabulary,
    mask_generator=dict(
        _base_.mask_generator,
        _delete_=True,
        ignore_index=_base_.ignore_index),
    ensemble=dict(gamma=0.0),
    test_cfg=dict(
        tasks=_base_.test_tasks, thing_classes=_base_.thing_classes))
test_evaluator = [
    _base_.test_evaluator,
    dict(type='MaskAccuracyMetric'),
]
val_evaluator = test_evaluator
