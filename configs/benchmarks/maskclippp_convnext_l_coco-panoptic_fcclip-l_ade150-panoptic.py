# Paper (official README model table) ConvNeXt-L fine-tuned on COCO panoptic,
# on ADE20K panoptic (PQ): FC-CLIP-L masks (official fcclip-l leaf: 250
# queries, OBJECT_MASK_THRESHOLD 0.0, ensemble off), exported with their class
# logits so that the generator's void probability enters as in the official
# code; gamma 0 (CLIP's class scores only). FC-CLIP is trained on COCO
# panoptic, the seen set if gamma is raised. Export the generator on the ADE20K
# panoptic (PQ) images to data/offline_masks/fcclip-l/ade150-panoptic
# (docs/offline_masks.md) or set --cfg-options
# model.mask_generator.mask_dir=...
_base_ = [
    './_base_/maskclippp_convnext_l_coco-panoptic.py',
    '../_base_/datasets/ade150_panoptic.py',
    '../_base_/generators/offline_npz.py',
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
        mask_dir='data/offline_masks/fcclip-l/ade150-panoptic'),
    ensemble=dict(gamma=0.0, seen_vocabulary='coco_panoptic'),
    test_cfg=dict(
        tasks=_base_.test_tasks,
        thing_classes=_base_.thing_classes,
        object_mask_threshold=0.0))
