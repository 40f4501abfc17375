# Paper Table 1's baseline, <E_m, E_t>: CLIP-V fine-tuned with GT masks and
# no PSM (the template-averaged similarity times CLIP's logit scale).
_base_ = ['./maskclippp_toy-vit_linear-psm.py']
model = dict(decode_head=dict(_delete_=True, type='MeanTemplatePSM'))
