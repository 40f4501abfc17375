# OpenAI CLIP ViT-B/16 with the Linear PSM; mask tokens in the last three
# blocks; CLIP sees test images at short side 384 (our choice: the official
# code ships no OpenAI-ViT config).
_base_ = ['./maskclippp_eva02_b16.py']
model = dict(
    backbone=dict(model_name='ViT-B-16-quickgelu', pretrained='openai'),
    text_encoder=dict(model_name='ViT-B-16-quickgelu', pretrained='openai'))
