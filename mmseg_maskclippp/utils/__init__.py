from . import torch_compat  # noqa: F401
