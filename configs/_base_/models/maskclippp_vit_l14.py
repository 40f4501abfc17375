# OpenAI CLIP ViT-L/14 with the Linear PSM; mask tokens in the last three
# blocks; CLIP sees test images at short side 392 (our choice, as EVA02-L).
_base_ = ['./maskclippp_eva02_l14_336.py']
model = dict(
    backbone=dict(model_name='ViT-L-14-quickgelu', pretrained='openai'),
    text_encoder=dict(model_name='ViT-L-14-quickgelu', pretrained='openai'))
