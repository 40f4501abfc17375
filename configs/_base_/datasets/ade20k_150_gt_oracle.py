# ADE20K-150 validation during fine-tuning: the data of the A-150
# benchmark (ade150.py), the GT masks classified by the model (the paper's
# "ideal mask generator", the segmentor's default GTMaskGenerator), scored by
# mIoU with its seen / unseen split and mask-classification accuracy.
_base_ = ['./ade150.py']
val_evaluator = [
    dict(type='OpenVocabIoUMetric', iou_metrics=['mIoU']),
    dict(type='MaskAccuracyMetric'),
]
test_evaluator = val_evaluator
