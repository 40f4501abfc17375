"""Build open_clip models with weights from a tag, a local file or nowhere.

Both the visual backbone and the text classifier build the CLIP they need
through :func:`create_open_clip`, so that every way of naming weights fails
the same way, at build time, with a message that says how to fix it.
"""
import json
import logging
import os.path as osp
from contextlib import contextmanager
from typing import Dict, Optional, Tuple

import open_clip
import torch.nn as nn

_LOCAL_FILE_HINT = (
    "To use weights you downloaded yourself, pass the file instead of the "
    "tag: pretrained='/path/to/open_clip_model.safetensors' (an open_clip "
    "state dict, or a checkpoint holding one under 'state_dict').")


#: what open_clip's ``create_model`` logs (on the root logger) whenever it
#: is given no weights to load
_RANDOM_INIT_NOTICE = 'No pretrained weights loaded for model'


class _DropRandomInitNotice(logging.Filter):

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_RANDOM_INIT_NOTICE)


@contextmanager
def _random_init_expected():
    """Within it, open_clip does not announce a random initialisation.

    We build with ``pretrained=None`` on purpose: the weights come next from
    a local file here, or from a MaskCLIP++ checkpoint loaded over the whole
    segmentor (``init_segmentor``); open_clip's "Model initialized randomly"
    warning would read like a failure. Only that message, only during the
    build, is dropped.
    """
    notice = _DropRandomInitNotice()
    root = logging.getLogger()
    root.addFilter(notice)
    try:
        yield
    finally:
        root.removeFilter(notice)


def register_model_config(model_name: str) -> str:
    """The open_clip name of ``model_name``, registering it first when it is
    a model-config file.

    This is how a config names a CLIP of its own: ``model_name=
    'path/to/my-clip.json'`` (an open_clip model config: ``embed_dim``,
    ``vision_cfg``, ``text_cfg``) is registered with
    ``open_clip.add_model_config`` under the file's stem (``'my-clip'``),
    for the backbone and the text encoder alike. Any other string is an
    open_clip name and returned as is.

    Raises:
        FileNotFoundError: ``model_name`` ends in ``.json`` and no such
            file exists.
        ValueError: the file is not a model config, or its stem already
            names a different open_clip model config.
    """
    if not model_name.endswith('.json'):
        return model_name
    if not osp.isfile(model_name):
        raise FileNotFoundError(
            f'open_clip model config file {model_name} not found (a '
            'model_name ending in .json names a model-config file)')
    with open(model_name, encoding='utf-8') as f:
        try:
            cfg = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(
                f'{model_name} is not valid JSON: {e}') from e
    missing = [k for k in ('embed_dim', 'vision_cfg', 'text_cfg')
               if k not in cfg]
    if missing:
        raise ValueError(f'{model_name} is not an open_clip model config: '
                         f'it lacks {missing}')
    name = osp.splitext(osp.basename(model_name))[0]
    known = open_clip.get_model_config(name)
    if known is None:
        open_clip.add_model_config(model_name)
    elif known != cfg:
        raise ValueError(
            f'{model_name}: open_clip already has a different model config '
            f'named {name!r}; rename the file')
    return name


def _looks_like_path(pretrained: str) -> bool:
    return (osp.sep in pretrained or pretrained.startswith('.')
            or pretrained.endswith(
                ('.pt', '.pth', '.bin', '.safetensors', '.ckpt')))


def create_open_clip(model_name: str,
                     pretrained: Optional[str] = None,
                     cache_dir: Optional[str] = None) -> nn.Module:
    """Create the open_clip model ``model_name`` in fp32 on the CPU.

    Args:
        model_name: an open_clip model config name
            (``open_clip.list_models()``),
            e.g. ``'convnext_base_w_320'`` or ``'EVA02-L-14-336'``, or a
            model-config file of your own (:func:`register_model_config`).
        pretrained: an open_clip pretrained tag (downloaded by open_clip,
            ``open_clip.list_pretrained_tags_by_model(model_name)``), a local
            file, or None for random initialisation (for weights loaded
            afterwards, e.g. from a MaskCLIP++ checkpoint; built quietly).
        cache_dir: where open_clip keeps downloaded weights.

    Raises:
        ValueError: unknown model name or pretrained tag.
        FileNotFoundError: ``pretrained`` names a file that does not exist.
        RuntimeError: the weights could not be downloaded or do not fit.
    """
    model_name = register_model_config(model_name)
    if model_name not in open_clip.list_models():
        raise ValueError(
            f'unknown open_clip model {model_name!r}; see '
            'open_clip.list_models() (model configs can be added with '
            "a model config file of your own: model_name='my-clip.json')")
    if pretrained is None:
        with _random_init_expected():
            return open_clip.create_model(model_name, pretrained=None)

    if osp.isfile(pretrained):
        with _random_init_expected():
            model = open_clip.create_model(model_name, pretrained=None)
        try:
            open_clip.load_checkpoint(model, pretrained, strict=True)
        except RuntimeError as e:
            raise RuntimeError(
                f'weights in {pretrained} do not fit open_clip model '
                f'{model_name!r}: {e}') from e
        return model
    if _looks_like_path(pretrained):
        raise FileNotFoundError(
            f'pretrained weights for {model_name!r} not found: no file at '
            f'{pretrained}')

    tags = open_clip.list_pretrained_tags_by_model(model_name)
    if pretrained not in tags:
        raise ValueError(
            f'unknown pretrained tag {pretrained!r} for open_clip model '
            f'{model_name!r}; known tags: {tags or "none"}. '
            + _LOCAL_FILE_HINT)
    try:
        return open_clip.create_model(
            model_name, pretrained=pretrained, cache_dir=cache_dir)
    except Exception as e:  # hub unreachable, interrupted download, ...
        raise RuntimeError(
            f'could not fetch pretrained weights {pretrained!r} for open_clip '
            f'model {model_name!r} ({type(e).__name__}: {e}). '
            + _LOCAL_FILE_HINT) from e


def image_statistics(model_name: str,
                     pretrained: Optional[str] = None
                     ) -> Dict[str, Tuple[float, ...]]:
    """The RGB ``mean`` and ``std`` (0..1 scale) that the CLIP-V of
    ``model_name`` with weights ``pretrained`` expects by default: a
    pretrained tag's values (``open_clip.get_pretrained_cfg``), else OpenAI
    CLIP's, as open_clip's own factory resolves them.

    A local weights file says nothing about them, and open_clip 3.3 does
    not let a registered model config carry them (``CLIP`` rejects a
    ``preprocess_cfg`` key): your own CLIP's statistics are given to the
    backbone (``mean``, ``std``).
    """
    model_name = register_model_config(model_name)
    stats = dict(mean=tuple(open_clip.OPENAI_DATASET_MEAN),
                 std=tuple(open_clip.OPENAI_DATASET_STD))
    if pretrained is not None and not osp.isfile(pretrained):
        cfg = open_clip.get_pretrained_cfg(model_name, pretrained) or {}
        stats.update(
            {k: tuple(cfg[k]) for k in stats if cfg.get(k) is not None})
    return stats
