# Paper Table 4 "EVA01 ViT-g/14-plus" setting on ADE20K panoptic (PQ): EVA01
# ViT-g/14-plus fine-tuned on COCO panoptic, Swin-L Mask2Former (COCO
# panoptic) masks, gamma 0.0.
_base_ = [
    './_base_/maskclippp_eva01-g14-plus_coco-panoptic.py',
    '../_base_/datasets/ade150_panoptic.py',
    '../_base_/generators/m2f_swin_l.py',
]
# the model's official test size (test_resize) replaces the dataset's
test_pipeline = _base_.test_dataloader.dataset.pipeline
test_pipeline[1] = _base_.test_resize  # ResizeShortestEdge
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
model = dict(
    test_vocabulary=_base_.test_vocabulary,
    mask_generator=dict(_base_.mask_generator, _delete_=True),
    ensemble=dict(gamma=0.0),
    test_cfg=dict(
        tasks=_base_.test_tasks, thing_classes=_base_.thing_classes))
