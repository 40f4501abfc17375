# Paper Sec. 4.1: AdamW, lr 2e-4 decayed to 1e-5 with a cosine, 20k
# iterations, batch 4; AMP; gradient clipping at L2 norm 0.01 over the whole
# model; no weight decay on norms. Model configs add the CLIP learning-rate
# multiplier to ``optim_wrapper.paramwise_cfg.custom_keys``.
base_lr = 2e-4
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(
        type='AdamW',
        lr=base_lr,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.05),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys=dict()))
# every group ends at 1e-5 / 2e-4 of its own initial lr (the official
# schedule scales the final lr by the group's multiplier too)
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        eta_min_ratio=0.05,
        T_max=20000,
        begin=0,
        end=20000,
        by_epoch=False)
]
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
