# EVA01-CLIP ViT-g/14-plus with the Linear PSM; mask tokens in the last three
# blocks (38 of 40); CLIP sees test images at short side 336.
_base_ = ['./maskclippp_eva02_b16.py']
model = dict(
    data_preprocessor=dict(size_divisor=14),
    backbone=dict(
        model_name='EVA01-g-14-plus', pretrained='merged2b_s11b_b114k'),
    test_cfg=dict(clip_short_side=336))
