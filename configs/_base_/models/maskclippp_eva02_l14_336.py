# EVA02-CLIP ViT-L/14-336 with the Linear PSM; mask tokens in the last three
# blocks; CLIP sees test images at short side 392.
_base_ = ['./maskclippp_eva02_b16.py']
model = dict(
    data_preprocessor=dict(size_divisor=14),
    backbone=dict(model_name='EVA02-L-14-336', pretrained='merged2b_s6b_b61k'),
    test_cfg=dict(clip_short_side=392))
