# CLIP ConvNeXt-L (open_clip convnext_large_d_320, LAION-2B fine-tuned soup)
# with the PseudoText PSM; CLIP sees test images at short side 640.
_base_ = ['./maskclippp_convnext_b.py']
model = dict(
    backbone=dict(
        model_name='convnext_large_d_320',
        pretrained='laion2b_s29b_b131k_ft_soup'),
    test_cfg=dict(clip_short_side=640))
