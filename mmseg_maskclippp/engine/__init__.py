"""Training-loop parts: the Runner with safe checkpoint loading, the hook
that makes a resumed run continue exactly, and the optimizer constructor
with the official parameter groups."""
from .optim_constructor import MaskCLIPppOptimWrapperConstructor
from .random_state_hook import ModelRandomStateHook
from .runner import MaskCLIPppRunner, build_runner

__all__ = [
    'MaskCLIPppOptimWrapperConstructor', 'MaskCLIPppRunner',
    'ModelRandomStateHook', 'build_runner'
]
