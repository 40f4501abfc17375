"""Build a MaskCLIP++ segmentor from a config and a checkpoint, and run it on
image files.

The checkpoint is loaded weights-only (no code in it runs, see
:func:`~mmseg_maskclippp.utils.checkpoint_loading`) and strictly: a
checkpoint that does not fit the config is an error naming the missing and
unexpected keys (the frozen Mask2Former detector is not part of the
segmentor's weights and loads from its own checkpoint, see
``Mask2FormerGenerator``).
"""
import copy
import os
import os.path as osp
import re
from typing import Optional, Sequence, Union

from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader
from mmseg.structures import SegDataSample
from torch import nn

from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.utils.checkpoint import (CheckpointMismatchError,
                                               UnsafeCheckpointError,
                                               checkpoint_loading,
                                               mismatch_message)
from mmseg_maskclippp.vocabulary import VocabularyLike

#: generators that cannot make masks for a user's image
GT_GENERATORS = ('GTMaskGenerator', )
#: the smallest short side and the largest long / short ratio of an input
#: image: thinner images hold nothing to segment and break the resizing
#: and the drawing
MIN_IMAGE_SIDE = 16
MAX_ASPECT_RATIO = 16


def _type_name(cfg: dict) -> str:
    """``'mmseg.GTMaskGenerator'`` -> ``'GTMaskGenerator'``."""
    return str(cfg.get('type', '')).split('.')[-1]


def check_image_size(path: str, height: int, width: int) -> None:
    """An image must be at least ``MIN_IMAGE_SIDE`` pixels on its short
    side and at most ``MAX_ASPECT_RATIO`` times longer than wide (the CLI
    and web demos check every input with it)."""
    short, long = min(height, width), max(height, width)
    if short < MIN_IMAGE_SIDE or long > MAX_ASPECT_RATIO * short:
        raise ValueError(
            f'{path}: the image is {height} x {width} pixels; the demo '
            f'needs at least {MIN_IMAGE_SIDE} pixels on the short side and '
            f'a long side at most {MAX_ASPECT_RATIO} times the short one')


def load_generator_config(spec: str,
                          search_dir: Optional[str] = None) -> dict:
    """The ``mask_generator`` dict of a generator config: a file, or a name
    in ``search_dir`` (``'felzenszwalb'`` for
    ``configs/_base_/generators/felzenszwalb.py``)."""
    path = spec
    if not osp.isfile(path) and search_dir is not None:
        path = osp.join(search_dir, spec.replace('-', '_') + '.py')
    if not osp.isfile(path):
        known = sorted(
            f[:-3] for f in os.listdir(search_dir)
            if f.endswith('.py')) if search_dir and osp.isdir(
                search_dir) else []
        raise ValueError(f'mask generator {spec!r} is neither a generator '
                         f'config ({", ".join(known) or "none found"}) nor '
                         'a config file')
    generator = Config.fromfile(path).get('mask_generator')
    if generator is None:
        raise ValueError(f'{path} defines no mask_generator')
    return generator.to_dict() if hasattr(generator, 'to_dict') else generator


def check_mask_generator(cfg: Config, source: str) -> None:
    """Inference on new images needs a generator that does not read
    ground truth."""
    generator = cfg.model.get('mask_generator')
    if generator is None or _type_name(generator) in GT_GENERATORS:
        found = 'none' if generator is None else _type_name(generator)
        raise ValueError(
            f'{source}: model.mask_generator is {found}, which has no masks '
            "for new images (it reads the images' ground truth); choose a "
            'generator: Mask2Former (m2f_swin_t, m2f_swin_l) for the '
            "paper's results, or felzenszwalb (class-agnostic segments, no "
            'weights)')


def read_checkpoint(path: str, allow_unsafe_pickle: bool = False) -> dict:
    """The state dict of an mmengine checkpoint (``{'state_dict': ...}``)
    or of a bare state dict; ``module.`` prefixes (DDP) are removed.

    Raises:
        UnsafeCheckpointError: the file holds objects other than tensors and
            what a Runner checkpoint needs, and ``allow_unsafe_pickle`` is
            False.
    """
    if '://' not in path and not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        with checkpoint_loading(allow_unsafe_pickle, path):
            checkpoint = CheckpointLoader.load_checkpoint(
                path, map_location='cpu')
    except UnsafeCheckpointError:
        raise
    except Exception as e:
        raise ValueError(f'cannot read checkpoint {path}: {e}') from e
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path} holds no state dict')
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def load_state_dict_strictly(model: nn.Module, state_dict: dict,
                             source: str) -> None:
    """Load every weight of ``model`` from ``state_dict`` and nothing else.

    Raises:
        CheckpointMismatchError: missing or unexpected keys (listed), or
            tensors of the wrong shape.
    """
    try:
        result = model.load_state_dict(state_dict, strict=False)
    except (RuntimeError, CheckpointMismatchError) as e:
        # shape mismatches; the model's own check of its fine-tuned parts
        raise CheckpointMismatchError(
            f'{source} does not fit the model: {e}') from e
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointMismatchError(
            f'{source} does not fit the model: ' +
            mismatch_message(result.missing_keys, result.unexpected_keys))


def init_segmentor(config: Union[str, Config],
                   checkpoint: Optional[str] = None,
                   device: str = 'cpu',
                   cfg_options: Optional[dict] = None,
                   mask_generator: Optional[dict] = None,
                   tasks: Optional[Sequence[str]] = None,
                   vocabulary: Optional[VocabularyLike] = None,
                   allow_unsafe_pickle: bool = False) -> nn.Module:
    """A ``MaskCLIPpp`` ready for inference on new images.

    Args:
        config: config file or ``Config`` (not modified).
        checkpoint: MaskCLIP++ checkpoint (ours or one converted from the
            official implementation), loaded strictly. The CLIP weights
            come from it, so the config's pretrained CLIP weights are not
            loaded; None keeps the config's pretrained weights.
        device: where the model runs.
        cfg_options: overrides merged into the config.
        mask_generator: replaces ``model.mask_generator``.
        tasks: replaces ``model.test_cfg.tasks``.
        vocabulary: replaces the test vocabulary.
        allow_unsafe_pickle: unpickle the checkpoint fully (it may run
            code); only for files you trust. By default it loads
            weights-only.

    Raises:
        ValueError: the model is not MaskCLIP++, its generator needs ground
            truth, or the checkpoint cannot be read, holds more than weights
            (:class:`UnsafeCheckpointError`) or does not fit
            (:class:`CheckpointMismatchError`).
    """
    source = config if isinstance(config, str) else 'the config'
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if _type_name(cfg.model) != 'MaskCLIPpp':
        raise ValueError(f'{source}: model type must be MaskCLIPpp, got '
                         f'{cfg.model.get("type")!r}')
    if mask_generator is not None:
        cfg.model.mask_generator = mask_generator
    check_mask_generator(cfg, source)
    if tasks is not None:
        cfg.model.test_cfg = dict(cfg.model.get('test_cfg') or {},
                                  tasks=list(tasks))
    state_dict = None
    if checkpoint is not None:
        state_dict = read_checkpoint(checkpoint, allow_unsafe_pickle)
        for part in ('backbone', 'text_encoder'):
            if 'pretrained' in cfg.model[part]:
                cfg.model[part].pretrained = None
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(cfg.model)
    if state_dict is not None:
        load_state_dict_strictly(model, state_dict, checkpoint)
    model.cfg = cfg
    if vocabulary is not None:
        model.set_vocabulary(vocabulary)
    return model.to(device).eval()


def build_test_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline for image files: annotation loaders
    removed (as ``MMSegInferencer`` does)."""
    steps = [
        step for step in copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
        if not (_type_name(step).startswith('Load')
                and _type_name(step) != 'LoadImageFromFile')
    ]
    if not steps or _type_name(steps[0]) != 'LoadImageFromFile':
        raise ValueError('the test pipeline must start with '
                         'LoadImageFromFile')
    return Compose(steps)


def inference_segmentor(model: nn.Module, pipeline: Compose,
                        image: str) -> SegDataSample:
    """Predictions for one image file (``pred_sem_seg``; ``seg_logits``
    with ``model.test_cfg.keep_seg_logits``; ``pred_panoptic_seg`` and
    ``pred_instances`` as ``model.test_cfg.tasks`` asks), at the image's
    size."""
    data = pseudo_collate([pipeline(dict(img_path=image))])
    return model.test_step(data)[0]
