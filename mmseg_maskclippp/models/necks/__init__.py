from .mask_pooling import MaskEmbeddings, MaskPoolingNeck, neck_args_for

__all__ = ['MaskEmbeddings', 'MaskPoolingNeck', 'neck_args_for']
