# The model of configs/maskclippp_eva01-g14-plus_coco-panoptic.py
# for its benchmark configs (tests/test_benchmark_configs.py checks
# that the two agree).
_base_ = [
    '../../_base_/models/maskclippp_eva01_g14_plus.py', './test_runtime.py'
]
model = dict(train_vocabulary='coco_panoptic')
