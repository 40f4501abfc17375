from .text_classifier import OpenCLIPTextClassifier, load_templates

__all__ = ['OpenCLIPTextClassifier', 'load_templates']
