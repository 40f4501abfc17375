# CLIP ResNet family root: OpenAI CLIP RN50x16 with the consistency-aligned
# Linear PSM; attention pooling with one query per mask (Eq. 2); CLIP sees
# test images at short side 512; masks that vanish at stride 32 are left out
# of the loss. The text encoder takes the backbone's model and weights.
model = dict(
    type='MaskCLIPpp',
    data_preprocessor=dict(type='MaskCLIPDataPreProcessor', size_divisor=32),
    backbone=dict(
        type='OpenCLIPVisual',
        model_name='RN50x16-quickgelu',
        pretrained='openai'),
    text_encoder=dict(type='OpenCLIPTextClassifier', templates='t14'),
    neck=dict(type='MaskPoolingNeck'),
    decode_head=dict(type='LinearPSM', width=768, use_logit_scale=True),
    loss=dict(
        type='ReweightedCrossEntropyLoss',
        balance_classes=True,
        ignore_empty_masks=True),
    mask_generator=dict(type='GTMaskGenerator'),
    test_cfg=dict(clip_short_side=512))
