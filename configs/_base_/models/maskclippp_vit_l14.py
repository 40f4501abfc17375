# OpenAI CLIP ViT-L/14 with the Linear PSM; mask tokens in the last three
# blocks; CLIP sees test images at short side 392 (our choice, as EVA02-L).
_base_ = ['./maskclippp_vit_b16.py']
model = dict(
    data_preprocessor=dict(size_divisor=14),
    backbone=dict(model_name='ViT-L-14-quickgelu', pretrained='openai'),
    test_cfg=dict(clip_short_side=392))
