# The model of configs/maskclippp_convnext_b_coco-stuff.py
# for its benchmark configs (tests/test_benchmark_configs.py checks
# that the two agree).
_base_ = [
    '../../_base_/models/maskclippp_convnext_b.py', './test_runtime.py'
]
model = dict(train_vocabulary='coco_stuff')
