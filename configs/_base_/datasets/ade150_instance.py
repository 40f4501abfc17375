# ADE20K instance validation (100 thing classes), evaluated by mmdet's COCO
# mask AP. mmdet's ADE20KInstanceDataset; prepare the COCO-format
# annotations with mmdet's tools/dataset_converters/ade20k2coco.py. As in
# the paper, masks are classified over the 150 panoptic classes and stuff
# predictions dropped; OpenVocabCocoMetric maps the labels to the dataset's
# classes (mmdet's thing classes, in their order).
_base_ = ['./ade150_panoptic.py']
test_tasks = ('semantic', 'instance')
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='mmdet.ADE20KInstanceDataset',
        data_root=_base_.data_root,
        ann_file='ade20k_instance_val.json',
        data_prefix=dict(img='images/validation/'),
        test_mode=True,
        pipeline=_base_.test_dataloader.dataset.pipeline))
test_evaluator = dict(
    _delete_=True,
    type='OpenVocabCocoMetric',
    test_vocabulary=_base_.test_vocabulary,
    dataset_classes=_base_.thing_classes,
    ann_file=_base_.data_root + '/ade20k_instance_val.json',
    metric='segm')
val_dataloader = test_dataloader
val_evaluator = test_evaluator
