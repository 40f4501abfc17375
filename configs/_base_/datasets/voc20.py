# PAS-20: PASCAL VOC 2012 validation (1,449 images), the 20 object classes;
# background and boundaries ignored (255). Reads the release's
# SegmentationClass PNGs as they are (PascalVOC20Dataset reduces label 0).
_base_ = ['./ade150.py']
test_vocabulary = 'voc20'
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PascalVOC20Dataset',
        data_root='data/VOCdevkit/VOC2012',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=_base_.test_dataloader.dataset.pipeline))
val_dataloader = test_dataloader
