"""``type='OpenCLIPVisual'``: the right CLIP-V family for any open_clip model,
chosen from its model config the way open_clip's factory chooses the tower."""
import open_clip

from mmseg_maskclippp.registry import MODELS
from ..utils.open_clip_loader import register_model_config
from .base import OpenCLIPVisualBackbone
from .clip_convnext import CLIPConvNeXt
from .clip_eva import CLIPEVAViT
from .clip_resnet import CLIPResNet
from .clip_vit import CLIPViT


def visual_family(model_name: str) -> type:
    """The backbone class that handles open_clip model ``model_name``."""
    cfg = open_clip.get_model_config(model_name)
    if cfg is None:
        raise ValueError(
            f'unknown open_clip model {model_name!r}; see '
            'open_clip.list_models()')
    vision = cfg['vision_cfg']
    timm_name = vision.get('timm_model_name')
    if timm_name:
        if 'eva' in timm_name:
            return CLIPEVAViT
        if 'convnext' in timm_name:
            return CLIPConvNeXt
        raise ValueError(f'{model_name!r} has a timm {timm_name!r} tower; '
                         'only ConvNeXt and EVA timm towers are supported')
    if isinstance(vision.get('layers'), (list, tuple)):
        return CLIPResNet
    return CLIPViT


@MODELS.register_module(name='OpenCLIPVisual')
def build_open_clip_visual(model_name: str,
                           **kwargs) -> OpenCLIPVisualBackbone:
    """Build the CLIP-V backbone of ``model_name`` (same arguments as
    :class:`OpenCLIPVisualBackbone` and the family's own); ``model_name``
    may be a model-config ``.json`` file (:func:`register_model_config`)."""
    model_name = register_model_config(model_name)
    return visual_family(model_name)(model_name=model_name, **kwargs)
