# MaskCLIP++ with the Linear PSM (consistency-aligned), fine-tuned with the
# GT masks of the toy world's seen classes.
_base_ = [
    './_base_/maskclippp_toy_vit.py', './_base_/schedule_toy.py',
    '../_base_/default_runtime.py'
]
custom_imports = dict(
    imports=['mmseg_maskclippp', 'mmseg_maskclippp.toy_world'],
    allow_failed_imports=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
