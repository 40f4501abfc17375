# Paper Table 5 "MaskCLIP++ ConvNeXt-B" setting on PC-59: ConvNeXt-B
# fine-tuned on COCO-Stuff, ground-truth masks (ideal generator), gamma 0.0.
_base_ = [
    './_base_/maskclippp_convnext_b_coco-stuff.py',
    '../_base_/datasets/pc59.py',
    '../_base_/generators/gt_oracle.py',
]
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
