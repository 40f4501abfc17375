"""Training-loop parts: the Runner with safe checkpoint loading, and the
hook that makes a resumed run continue exactly."""
from .random_state_hook import ModelRandomStateHook
from .runner import MaskCLIPppRunner, build_runner

__all__ = ['MaskCLIPppRunner', 'ModelRandomStateHook', 'build_runner']
