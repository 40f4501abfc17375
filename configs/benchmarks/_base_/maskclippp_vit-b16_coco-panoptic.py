# The model of configs/maskclippp_vit-b16_coco-panoptic.py
# for its benchmark configs (tests/test_benchmark_configs.py checks
# that the two agree).
_base_ = [
    '../../_base_/models/maskclippp_vit_b16.py', './test_runtime.py'
]
model = dict(train_vocabulary='coco_panoptic')
