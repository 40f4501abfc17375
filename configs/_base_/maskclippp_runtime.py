# What every MaskCLIP++ fine-tuning config shares: validation on A-150 with
# GT masks, the paper's 20k-iteration schedule and the runtime.
_base_ = [
    './datasets/ade20k_150_gt_oracle.py',
    './schedules/schedule_20k_adamw_cosine.py', './default_runtime.py'
]
# the model's random numbers (dropout) in their own stream, saved in the
# checkpoints: a resumed run continues exactly (with a fixed
# randomness.seed)
custom_hooks = [dict(type='ModelRandomStateHook')]
