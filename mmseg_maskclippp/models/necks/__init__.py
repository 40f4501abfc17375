from .mask_pooling import MaskEmbeddings, MaskPoolingNeck

__all__ = ['MaskEmbeddings', 'MaskPoolingNeck']
