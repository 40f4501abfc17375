"""The optimizer's parameter groups of the official MaskCLIP++ recipe.

mmengine's ``DefaultOptimWrapperConstructor`` cannot express it: a
``custom_keys`` entry that sets the CLIP learning-rate multiplier also
replaces the norm / bias rules for every parameter it matches, so CLIP's
norms would decay, and its ``no_weight_decay()`` names would not be known.
"""
from typing import Dict, List, Optional

from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmseg_maskclippp.registry import OPTIM_WRAPPER_CONSTRUCTORS

#: normalisation layers whose parameters never decay (subclasses included)
NORM_LAYERS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm,
               nn.modules.instancenorm._InstanceNorm, nn.LayerNorm,
               nn.LocalResponseNorm)
#: parameter-name parts that never decay (Swin-style position tables)
DECAY_FREE_NAME_PARTS = ('relative_position_bias_table', 'absolute_pos_embed')


def is_decay_free(module: nn.Module, name: str) -> bool:
    """Whether parameter ``name`` owned directly by ``module`` is left
    without weight decay: parameters of normalisation layers and embedding
    tables, the names the module lists in its ``no_weight_decay()`` (open_clip
    and timm position embeddings and class tokens), and position tables."""
    if isinstance(module, NORM_LAYERS + (nn.Embedding, )):
        return True
    no_decay = getattr(module, 'no_weight_decay', None)
    if callable(no_decay) and name in no_decay():
        return True
    return any(part in name for part in DECAY_FREE_NAME_PARTS)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MaskCLIPppOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """One parameter group per trainable parameter, as the official
    implementation builds them:

    * learning rate: the optimizer's ``lr`` times the multiplier of the
      longest ``paramwise_cfg.lr_mult`` prefix that the parameter's name
      starts with (1 when none does);
    * weight decay: the optimizer's ``weight_decay``, except 0 for what
      :func:`is_decay_free` names; biases decay.

    Frozen parameters (``requires_grad=False``) are left out; a parameter
    shared by several modules appears once.

    Example::

        optim_wrapper = dict(
            constructor='MaskCLIPppOptimWrapperConstructor',
            optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05),
            paramwise_cfg=dict(lr_mult={'backbone.clip': 0.001}))

    Args:
        optim_wrapper_cfg: the ``optim_wrapper`` config.
        paramwise_cfg: ``dict(lr_mult={prefix: multiplier})``; nothing else.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'lr_mult'}
        if unknown:
            raise ValueError(
                'MaskCLIPppOptimWrapperConstructor: paramwise_cfg takes only '
                f"'lr_mult', got {sorted(unknown)}")
        lr_mult = paramwise_cfg.setdefault('lr_mult', {})
        if not isinstance(lr_mult, dict) or not all(
                isinstance(v, (int, float)) for v in lr_mult.values()):
            raise TypeError('paramwise_cfg.lr_mult must map name prefixes '
                            f'to numbers, got {lr_mult!r}')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def lr_mult(self, name: str) -> float:
        """The multiplier of the longest ``lr_mult`` prefix of ``name``."""
        matches = [
            key for key in self.paramwise_cfg['lr_mult']
            if name == key or name.startswith(key + '.')
        ]
        if not matches:
            return 1.0
        return float(self.paramwise_cfg['lr_mult'][max(matches, key=len)])

    def add_params(self,
                   params: List[Dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module=None) -> None:
        """Append one group per trainable parameter of ``module``."""
        seen = set()
        for module_name, owner in module.named_modules(prefix=prefix):
            for name, param in owner.named_parameters(recurse=False):
                if not param.requires_grad or id(param) in seen:
                    continue
                seen.add(id(param))
                full_name = f'{module_name}.{name}' if module_name else name
                group = dict(params=[param],
                             lr=self.base_lr * self.lr_mult(full_name))
                if self.base_wd is not None:
                    group['weight_decay'] = 0.0 if is_decay_free(
                        owner, name) else self.base_wd
                params.append(group)
