# The pretrained toy CLIP without MaskCLIP++: frozen, no PSM (the
# template-averaged similarity times CLIP's logit scale). Test only.
_base_ = ['./maskclippp_toy-vit_linear-psm.py']
model = dict(
    backbone=dict(finetune='none'),
    decode_head=dict(_delete_=True, type='MeanTemplatePSM'))
