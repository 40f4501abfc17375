# The trained model of configs/maskclippp_eva02-l14-336-text-ft_coco-stuff.py
# (which inherits this file for its model) and its official test size, for
# its benchmark configs (configs/benchmarks/*.py).
_base_ = ['../../_base_/models/maskclippp_eva02_l14_336.py']
model = dict(
    train_vocabulary='coco_stuff',
    text_encoder=dict(templates='t1', finetune='attention+mlp'))
# Test size of the official COCO-Stuff EVA02-L (wtext) config: short side 512,
# long side at most 2048. CLIP and the mask generator resize the test image
# again; benchmark leaves put this resize in their dataset's test pipeline.
test_resize = dict(type='ResizeShortestEdge', scale=512, max_size=2048)
