# PC-59: PASCAL Context validation (VOC 2010 images, mmseg's 5,105-image
# split), 59 classes; mmseg's PascalContextDataset59 (background -> ignore
# 255). Prepare with mmseg's tools/dataset_converters/pascal_context.py.
_base_ = ['./ade150.py']
test_vocabulary = 'pc59'
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PascalContextDataset59',
        data_root='data/VOCdevkit/VOC2010',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
        ann_file='ImageSets/SegmentationContext/val.txt',
        reduce_zero_label=True,
        pipeline=_base_.test_dataloader.dataset.pipeline))
val_dataloader = test_dataloader
