# Paper (official README model table) ConvNeXt-B + MAFT+-B on A-847: ConvNeXt-B
# fine-tuned on COCO-Stuff classifies MAFT+-B masks, and Eq. 4 mixes in
# MAFT+-B's class scores with gamma 0.4 (official maft-b_ens:
# GEOMETRIC_ENSEMBLE_ALPHA 0.6, BETA 1.0) on the test classes seen by MAFT+
# (trained on COCO-Stuff, the official DATASETS.TRAIN); the generator's void
# probability down-weights its void masks. Export the generator on the A-847
# images to data/offline_masks/maft-b/ade847 (docs/offline_masks.md) or set
# --cfg-options model.mask_generator.mask_dir=...
_base_ = [
    './_base_/maskclippp_convnext_b_coco-stuff.py',
    '../_base_/datasets/ade847.py',
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
        mask_dir='data/offline_masks/maft-b/ade847'),
    ensemble=dict(gamma=0.4, seen_vocabulary='coco_stuff'),
    test_cfg=dict(
        tasks=_base_.test_tasks,
        thing_classes=_base_.thing_classes))
