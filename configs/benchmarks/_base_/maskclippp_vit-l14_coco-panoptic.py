# The model of configs/maskclippp_vit-l14_coco-panoptic.py
# for its benchmark configs (tests/test_benchmark_configs.py checks
# that the two agree).
_base_ = [
    '../../_base_/models/maskclippp_vit_l14.py', './test_runtime.py'
]
model = dict(train_vocabulary='coco_panoptic')
