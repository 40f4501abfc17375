# Paper Sec. 4.1: AdamW, lr 2e-4 decayed to 1e-5 with a cosine, 20k
# iterations, batch 4 in total (the official 2 GPUs x 2 images); AMP;
# gradient clipping at L2 norm 0.01 over the whole model. The official
# parameter groups: weight decay 0.05 except on norms, embeddings and the
# names a module lists in ``no_weight_decay()`` (position embeddings, class
# tokens); model configs set the CLIP learning-rate multipliers in
# ``optim_wrapper.paramwise_cfg.lr_mult``. torch's fused AdamW (the same
# update in one kernel, CPU and CUDA; 2.7-3.7x faster than the for-each
# implementation on ConvNeXt-B's 88M parameters, docs/speed.md); set
# ``fused=False`` on a device without it.
base_lr = 2e-4
optim_wrapper = dict(
    type='AmpOptimWrapper',
    constructor='MaskCLIPppOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW',
        lr=base_lr,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.05,
        fused=True),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(lr_mult=dict()))
# every group ends at 1e-5 / 2e-4 of its own initial lr (the official
# schedule ends at 1e-5 times the group's multiplier); configs with another
# base lr set their own ratio
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        eta_min_ratio=1e-5 / base_lr,
        T_max=20000,
        begin=0,
        end=20000,
        by_epoch=False)
]
# the paper's total batch; `tools/train.py --auto-scale-lr` scales the lr
# linearly to the batch actually used (GPUs x train_dataloader.batch_size)
auto_scale_lr = dict(enable=False, base_batch_size=4)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
