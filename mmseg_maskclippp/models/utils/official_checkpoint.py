"""Official (detectron2) MaskCLIP++ checkpoints onto :class:`MaskCLIPpp`.

The official trainer saves only the fine-tuned parts, each under its module
name (fact sheet §0)::

    visual_encoder.proxy.<open_clip / EVA-CLIP visual tower keys>
    visual_encoder.mask_logit_scale      (L_neck, heads) ViT, (heads,) ResNet
    psm.<PSM keys>
    text_encoder.<open_clip text tower keys>    only if the text was tuned
    text_encoder.proxy.<EVA-CLIP text tower keys>, text_encoder.logit_scale
                                     the same for an EVA text encoder
    criterion.<...>                             no parameters in practice

Here the visual tower lives at ``backbone.clip``, the alphas of Eq. 2 at
``neck.log_alpha``, the PSM at ``decode_head`` and the text tower at
``text_encoder.clip``. Three things need more than a prefix change:

* ``mask_logit_scale`` rows of a ViT are ordered from the *last* block
  (row 0) backwards; ``neck.log_alpha`` rows follow the blocks forwards, so
  the rows are flipped. A ResNet's single row gains its layer axis.
* The EVA ViTs of the official code are EVA-CLIP's own modules; open_clip
  builds them on timm ``Eva`` trunks with other parameter names. timm's own
  EVA-CLIP checkpoint filter does that renaming.
* PSM parameter names differ (see ``PSM_KEYS``).

The checkpoint must hold every weight training changes (CLIP-V, the neck's
alphas, the PSM and a tuned text tower): a file that lacks one is refused,
since the part would stay untrained. Other keys the model has but the
checkpoint lacks (a frozen text tower, buffers) keep the model's own values,
its pretrained CLIP's or a random initialisation, as the summary says; keys
of the checkpoint that have no place in the model are reported.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Tuple

import torch
from torch import Tensor, nn

from mmseg_maskclippp.utils.checkpoint import key_list
from ..backbones.clip_eva import CLIPEVAViT

#: official PSM parameter prefix -> ours, per PSM class
PSM_KEYS: Dict[str, Dict[str, str]] = {
    'LinearPSM': {
        'corr_proj_in.0.': 'expand.',
        'corr_proj_out.0.': 'reduce.',
    },
    'PseudoTextPSM': {
        'img_proj.': 'patch_proj.',
        'img2text.': 'attention.',
        'ln_1.': 'norm.',
    },
}


@dataclass
class OfficialConversion:
    """The result of :func:`convert_official_state_dict`.

    Attributes:
        state_dict: converted tensors under our model's names.
        unused: official keys that have no place in the model.
        kept: model keys the checkpoint does not provide (they keep the
            model's current values, e.g. the pretrained frozen text tower).
        untrained: the kept keys that training changes (parameters of
            CLIP-V, the neck, the PSM or a tuned text tower): loading
            refuses a conversion with any.
        origins: where the kept keys' values come from, per top-level
            module (``"the pretrained weights '<tag>'"`` or ``'a random
            initialisation (no pretrained weights)'``).
    """
    state_dict: Dict[str, Tensor]
    unused: List[str] = field(default_factory=list)
    kept: List[str] = field(default_factory=list)
    untrained: List[str] = field(default_factory=list)
    origins: Dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f'converted {len(self.state_dict)} tensors']
        if self.unused:
            lines.append(f'{len(self.unused)} official keys unused: ' +
                         ', '.join(self.unused))
        for part in sorted({k.split('.')[0] for k in self.kept}):
            keys = [k for k in self.kept if k.split('.')[0] == part]
            lines.append(f'{len(keys)} keys of {part} are not in the '
                         f'checkpoint and keep their values from '
                         f'{self.origins.get(part, "the model")}')
        return '\n'.join(lines)


def official_state_dict(checkpoint: Mapping) -> Dict[str, Tensor]:
    """The model state dict inside an official checkpoint (detectron2
    stores it under ``'model'``)."""
    state = checkpoint.get('model', checkpoint)
    if not isinstance(state, Mapping) or not any(
            k.startswith('visual_encoder.') for k in state):
        raise KeyError('not a MaskCLIP++ checkpoint of the official code: '
                       "no key starts with 'visual_encoder.' (top-level "
                       f'keys: {sorted(checkpoint)[:8]})')
    return dict(state)


def _split(state: Mapping[str, Tensor]) -> Dict[str, Dict[str, Tensor]]:
    parts: Dict[str, Dict[str, Tensor]] = {}
    for key, value in state.items():
        head, _, rest = key.partition('.')
        parts.setdefault(head, {})[rest] = value
    return parts


def _visual(parts: Dict[str, Tensor], model: nn.Module,
            unused: List[str]) -> Dict[str, Tuple[str, Tensor]]:
    tower = {
        k[len('proxy.'):]: v
        for k, v in parts.items() if k.startswith('proxy.')
    }
    if isinstance(model.backbone, CLIPEVAViT):
        tower = _eva_clip_to_timm(tower, model.backbone.clip)
    out = {
        f'backbone.clip.{k}': (f'visual_encoder.proxy.{k}', v)
        for k, v in tower.items()
    }
    for key in parts:
        if key == 'mask_logit_scale':
            out['neck.log_alpha'] = (f'visual_encoder.{key}',
                                     _log_alpha(parts[key], model))
        elif not key.startswith('proxy.'):
            unused.append(f'visual_encoder.{key}')
    return out


def _eva_clip_to_timm(tower: Dict[str, Tensor],
                      clip: nn.Module) -> Dict[str, Tensor]:
    """EVA-CLIP visual keys -> open_clip ``TimmModel`` keys (``trunk.`` +
    timm ``Eva`` names; the EVA-CLIP projection ``head`` is the trunk's
    classifier head in open_clip's EVA configs)."""
    from timm.models.eva import checkpoint_filter_fn
    trunk_state = checkpoint_filter_fn(tower, clip.trunk)
    return {f'trunk.{k}': v for k, v in trunk_state.items()}


def _log_alpha(scale: Tensor, model: nn.Module) -> Tensor:
    """Official ``mask_logit_scale`` -> ``neck.log_alpha`` (layers, heads)."""
    if getattr(model.neck, 'log_alpha', None) is None:
        raise ValueError('the official checkpoint has mask_logit_scale '
                         '(attention pooling) but the model pools masks by '
                         f'{model.neck.pooling!r}: does the config name the '
                         'same CLIP?')
    if scale.dim() == 1:  # ResNet: one attention pool
        scale = scale[None]
    else:  # ViT: row 0 is the last block
        scale = scale.flip(0)
    want = tuple(model.neck.log_alpha.shape)
    if tuple(scale.shape) != want:
        raise ValueError(
            f'mask_logit_scale covers (layers, heads) = {tuple(scale.shape)} '
            f'but the model puts mask tokens in {want}: set the backbone\'s '
            'mask_prior_block to match the official MASK_PRIOR_BEG')
    return scale


def _psm(parts: Dict[str, Tensor], model: nn.Module,
         unused: List[str]) -> Dict[str, Tuple[str, Tensor]]:
    kind = type(model.decode_head).__name__
    if kind not in PSM_KEYS:
        raise ValueError(f'no official counterpart for decode head {kind}; '
                         f'official PSMs map onto {sorted(PSM_KEYS)}')
    out = {}
    for key, value in parts.items():
        for old, new in PSM_KEYS[kind].items():
            if key.startswith(old):
                out['decode_head.' + new + key[len(old):]] = (f'psm.{key}',
                                                              value)
                break
        else:
            unused.append(f'psm.{key}')
    return out


def _text(parts: Dict[str, Tensor],
          own: Mapping[str, Tensor]) -> Dict[str, Tuple[str, Tensor]]:
    """Official text keys are the open_clip text tower's own names, under
    ``proxy.`` for the EVA text encoder (its ``logit_scale`` beside it); a
    ``CustomTextCLIP`` (EVA models) keeps the tower under ``text.`` of the
    model's state dict ``own``."""
    out = {}
    for key, value in parts.items():
        tower_key = key[len('proxy.'):] if key.startswith('proxy.') else key
        name = f'text_encoder.clip.{tower_key}'
        if name not in own and f'text_encoder.clip.text.{tower_key}' in own:
            name = f'text_encoder.clip.text.{tower_key}'
        out[name] = (f'text_encoder.{key}', value)
    return out


def _origin(model: nn.Module, part: str) -> str:
    pretrained = getattr(getattr(model, part, None), 'pretrained', None)
    return f'the pretrained weights {pretrained!r}' if pretrained else \
        'a random initialisation (no pretrained weights)'


def convert_official_state_dict(state: Mapping[str, Tensor],
                                model: nn.Module) -> OfficialConversion:
    """Rename an official MaskCLIP++ state dict for ``model``.

    Args:
        state: the official state dict (see :func:`official_state_dict`).
        model: the :class:`MaskCLIPpp` it is meant for (its backbone family,
            neck layout and PSM class decide the renaming).

    Returns:
        :class:`OfficialConversion`. Raises ``ValueError`` naming the key when
        a converted tensor's shape differs from the model's.
    """
    unused: List[str] = []
    own = model.state_dict()
    renamed: Dict[str, Tuple[str, Tensor]] = {}
    for part, tensors in _split(state).items():
        if part == 'visual_encoder':
            renamed.update(_visual(tensors, model, unused))
        elif part == 'psm':
            renamed.update(_psm(tensors, model, unused))
        elif part == 'text_encoder':
            renamed.update(_text(tensors, own))
        else:
            unused.extend(f'{part}.{k}' for k in tensors)
    converted = {}
    for key, (origin, value) in renamed.items():
        if key not in own:
            unused.append(origin)
        elif value.shape != own[key].shape:
            raise ValueError(
                f'{origin} (-> {key}): the official checkpoint has shape '
                f'{tuple(value.shape)}, the model {tuple(own[key].shape)}: '
                'does the config name the same CLIP model and PSM width?')
        else:
            converted[key] = value
    kept = sorted(set(own) - set(converted))
    parts = model.tuned_parts()
    untrained = [
        name for name, _ in model.named_parameters()
        if name.split('.')[0] in parts and name not in converted
    ]
    origins = {k.split('.')[0]: _origin(model, k.split('.')[0]) for k in kept}
    return OfficialConversion(converted, sorted(unused), kept, untrained,
                              origins)


def load_official_checkpoint(model: nn.Module,
                             checkpoint: Mapping,
                             allow_unused: bool = False
                             ) -> Tuple[nn.Module, OfficialConversion]:
    """Convert an official checkpoint (already loaded) and load it into
    ``model``.

    Raises:
        KeyError: official keys have no place in the model (unless
            ``allow_unused``), or the checkpoint lacks weights that training
            changes (CLIP-V, neck alphas, PSM, a tuned text tower), which
            would stay untrained (:attr:`OfficialConversion.untrained`).
    """
    state = official_state_dict(checkpoint)
    result = convert_official_state_dict(state, model)
    if result.unused and not allow_unused:
        raise KeyError('official keys with no place in the model: ' +
                       ', '.join(result.unused) +
                       ' (pass allow_unused=True / --allow-unused to drop '
                       'them)')
    if result.untrained:
        parts = sorted({k.split('.')[0] for k in result.untrained})
        raise KeyError(
            f'{len(result.state_dict)} of {len(state)} official tensors fit '
            f'the model, and the checkpoint lacks trained weights of '
            f'{", ".join(parts)}, which would keep untrained values: '
            f'{key_list("missing", result.untrained)}; does the config '
            'name the same CLIP, PSM and neck as the official model?')
    with torch.no_grad():
        model.load_state_dict(result.state_dict, strict=False)
    return model, result
