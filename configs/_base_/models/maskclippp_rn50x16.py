# OpenAI CLIP RN50x16 with the consistency-aligned Linear PSM; attention
# pooling with one query per mask (Eq. 2); CLIP sees test images at short
# side 512; masks that vanish at stride 32 are left out of the loss.
_base_ = ['./maskclippp_convnext_b.py']
model = dict(
    backbone=dict(model_name='RN50x16-quickgelu', pretrained='openai'),
    text_encoder=dict(model_name='RN50x16-quickgelu', pretrained='openai'),
    decode_head=dict(
        _delete_=True, type='LinearPSM', width=768, use_logit_scale=True),
    loss=dict(ignore_empty_masks=True))
