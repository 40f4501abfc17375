from .maskclippp import MaskCLIPpp

__all__ = ['MaskCLIPpp']
