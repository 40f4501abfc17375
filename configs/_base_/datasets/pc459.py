# PC-459: PASCAL Context validation (the PC-59 images), all 459 classes;
# 16-bit label maps (ignore 65535) and the class names written by
# tools/dataset_converters/pascal_context_459.py into VOC2010. The model
# predicts the protocol's class list (built-in 'pc459'), checked against the
# dataset's label order.
_base_ = ['./ade847.py']
data_root = 'data/VOCdevkit/VOC2010'
test_vocabulary = 'pc459'
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PascalContext459Dataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassContext459'),
        ann_file='ImageSets/SegmentationContext/val.txt',
        vocabulary_file='pc459_vocabulary.txt',
        test_vocabulary=test_vocabulary,
        pipeline=_base_.test_dataloader.dataset.pipeline))
val_dataloader = test_dataloader
