from .psm import BasePSMHead, LinearPSM, PseudoTextPSM
from .psm_ablations import (LinearMaskEmbeddingPSM, LinearTextEmbeddingPSM,
                            MeanTemplatePSM)

__all__ = [
    'BasePSMHead', 'LinearPSM', 'PseudoTextPSM', 'MeanTemplatePSM',
    'LinearMaskEmbeddingPSM', 'LinearTextEmbeddingPSM'
]
