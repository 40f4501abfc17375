# 300 iterations of AdamW with a cosine decay: about a minute on two CPU
# cores. Fixed step count, fixed seed.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min_ratio=0.05, T_max=300, begin=0,
         end=300, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300, val_interval=300)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=300),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=0)
