# The trained model of configs/maskclippp_convnext_b_coco-stuff.py (which
# inherits this file for its model) and its official test size, for its
# benchmark configs (configs/benchmarks/*.py).
_base_ = ['../../_base_/models/maskclippp_convnext_b.py']
model = dict(train_vocabulary='coco_stuff')
# Test size of the official COCO-Stuff ConvNeXt-B config: short side 1024, long
# side at most 2048. CLIP and the mask generator resize the test image again;
# benchmark leaves put this resize in their dataset's test pipeline.
test_resize = dict(type='ResizeShortestEdge', scale=1024, max_size=2048)
