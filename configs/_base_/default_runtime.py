# Runtime shared by every MaskCLIP++ config.
custom_imports = dict(imports=['mmseg_maskclippp'], allow_failed_imports=False)
default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# Checkpoints (load_from, resume) load weights-only, with what a Runner
# checkpoint needs allowed; `allow_unsafe_pickle = True` (--unsafe-load)
# unpickles fully, for files you trust only.
runner_type = 'MaskCLIPppRunner'
