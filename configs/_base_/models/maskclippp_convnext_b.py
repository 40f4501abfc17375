# CLIP ConvNeXt family root, ConvNeXt-B (open_clip convnext_base_w_320,
# LAION-Aesthetic) with the PseudoText PSM; mask-average pooling (Eq. 1); CLIP
# sees test images at short side 512. The text encoder takes the backbone's
# model and weights.
model = dict(
    type='MaskCLIPpp',
    data_preprocessor=dict(type='MaskCLIPDataPreProcessor', size_divisor=32),
    backbone=dict(
        type='OpenCLIPVisual',
        model_name='convnext_base_w_320',
        pretrained='laion_aesthetic_s13b_b82k_augreg'),
    text_encoder=dict(type='OpenCLIPTextClassifier', templates='t14'),
    neck=dict(type='MaskPoolingNeck'),
    decode_head=dict(type='PseudoTextPSM', num_heads=8, attn_drop=0.1),
    loss=dict(type='ReweightedCrossEntropyLoss', balance_classes=True),
    mask_generator=dict(type='GTMaskGenerator'),
    test_cfg=dict(clip_short_side=512))
