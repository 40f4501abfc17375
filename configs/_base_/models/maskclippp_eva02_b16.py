# EVA02-CLIP ViT-B/16 with the Linear PSM; mask tokens in the last three
# blocks (Eq. 2); only position embedding and attention input projections
# train; CLIP sees test images at short side 384.
_base_ = ['./maskclippp_rn50x16.py']
model = dict(
    data_preprocessor=dict(size_divisor=16),
    backbone=dict(
        model_name='EVA02-B-16',
        pretrained='merged2b_s8b_b131k',
        mask_prior_block=-3),
    text_encoder=dict(
        model_name='EVA02-B-16', pretrained='merged2b_s8b_b131k'),
    test_cfg=dict(clip_short_side=384))
