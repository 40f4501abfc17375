"""From mask logits to predictions: the geometric ensemble with the mask
generator's scores (Eq. 4) and the semantic / panoptic / instance maps."""
from .geometric_ensemble import GeometricEnsemble
from .inference import (INSTANCE_OFFSET, instance_inference,
                        panoptic_inference, semantic_inference,
                        semantic_labels)

__all__ = [
    'GeometricEnsemble', 'INSTANCE_OFFSET', 'instance_inference',
    'panoptic_inference', 'semantic_inference', 'semantic_labels'
]
