from .optim_constructor import MaskCLIPppOptimWrapperConstructor

__all__ = ['MaskCLIPppOptimWrapperConstructor']
