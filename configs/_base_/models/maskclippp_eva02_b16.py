# EVA-CLIP family root: EVA02-CLIP ViT-B/16 with the consistency-aligned
# Linear PSM; mask tokens in the last three blocks (Eq. 2); only position
# embedding and attention input projections train; CLIP sees test images at
# short side 384; masks that vanish at the CLIP stride are left out of the
# loss. The text encoder takes the backbone's model and weights.
model = dict(
    type='MaskCLIPpp',
    data_preprocessor=dict(type='MaskCLIPDataPreProcessor', size_divisor=16),
    backbone=dict(
        type='OpenCLIPVisual',
        model_name='EVA02-B-16',
        pretrained='merged2b_s8b_b131k',
        mask_prior_block=-3),
    text_encoder=dict(type='OpenCLIPTextClassifier', templates='t14'),
    neck=dict(type='MaskPoolingNeck'),
    decode_head=dict(type='LinearPSM', width=768, use_logit_scale=True),
    loss=dict(
        type='ReweightedCrossEntropyLoss',
        balance_classes=True,
        ignore_empty_masks=True),
    mask_generator=dict(type='GTMaskGenerator'),
    test_cfg=dict(clip_short_side=384))
