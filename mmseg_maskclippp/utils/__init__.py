from .checkpoint import (RUNNER_CHECKPOINT_GLOBALS, CheckpointMismatchError,
                         UnsafeCheckpointError, checkpoint_loading, key_list,
                         mismatch_message)

__all__ = [
    'RUNNER_CHECKPOINT_GLOBALS', 'CheckpointMismatchError',
    'UnsafeCheckpointError', 'checkpoint_loading', 'key_list',
    'mismatch_message'
]
