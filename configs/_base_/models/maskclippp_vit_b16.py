# OpenAI CLIP ViT family root: ViT-B/16 with the consistency-aligned Linear
# PSM; mask tokens in the last three blocks (Eq. 2); CLIP sees test images at
# short side 384 (our choice: the official code ships no OpenAI-ViT config,
# so this follows EVA02-B/16); masks that vanish at the CLIP stride are left
# out of the loss. The text encoder takes the backbone's model and weights.
model = dict(
    type='MaskCLIPpp',
    data_preprocessor=dict(type='MaskCLIPDataPreProcessor', size_divisor=16),
    backbone=dict(
        type='OpenCLIPVisual',
        model_name='ViT-B-16-quickgelu',
        pretrained='openai',
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
