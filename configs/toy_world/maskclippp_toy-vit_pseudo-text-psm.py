# MaskCLIP++ with the PseudoText PSM (consistency-aligned through its text
# residual).
_base_ = ['./maskclippp_toy-vit_linear-psm.py']
model = dict(decode_head=dict(_delete_=True, type='PseudoTextPSM'))
