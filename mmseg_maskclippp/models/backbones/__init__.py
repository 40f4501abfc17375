from .base import OpenCLIPVisualBackbone
from .clip_convnext import CLIPConvNeXt
from .clip_eva import CLIPEVAViT
from .clip_resnet import CLIPResNet
from .clip_vit import CLIPViT, MaskTokenViT
from .open_clip_visual import build_open_clip_visual, visual_family

__all__ = [
    'OpenCLIPVisualBackbone', 'CLIPConvNeXt', 'CLIPEVAViT', 'CLIPResNet',
    'CLIPViT', 'MaskTokenViT', 'build_open_clip_visual', 'visual_family'
]
