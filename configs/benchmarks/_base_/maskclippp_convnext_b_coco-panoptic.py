# The trained model of configs/maskclippp_convnext_b_coco-panoptic.py (which
# inherits this file for its model) and its official test size, for its
# benchmark configs (configs/benchmarks/*.py).
_base_ = ['../../_base_/models/maskclippp_convnext_b.py']
model = dict(train_vocabulary='coco_panoptic')
# Test size of the official COCO-Panoptic configs: short side 800, long side at
# most 2560. CLIP and the mask generator resize the test image again; benchmark
# leaves put this resize in their dataset's test pipeline.
test_resize = dict(type='ResizeShortestEdge', scale=800, max_size=2560)
