# CLIP ConvNeXt-XXL (open_clip convnext_xxlarge, LAION-2B soup) with the
# PseudoText PSM; CLIP sees test images at short side 640.
_base_ = ['./maskclippp_convnext_b.py']
model = dict(
    backbone=dict(
        model_name='convnext_xxlarge',
        pretrained='laion2b_s34b_b82k_augreg_soup'),
    test_cfg=dict(clip_short_side=640))
