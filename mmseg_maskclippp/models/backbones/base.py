"""The CLIP visual tower (CLIP-V) as an mmseg backbone.

Every family keeps the open_clip visual module intact under ``self.clip``, so
that (a) open_clip state dicts load without renaming and (b) configs can give
every CLIP parameter its own learning rate with
``paramwise_cfg=dict(lr_mult={'backbone.clip': ...})``.

The paper splits CLIP-V into an *encoder* (feature extraction) and a *neck*
(aggregation, "Proj" in Eq. 1). A family implements both halves:

* ``forward(x)`` runs the encoder and returns a tuple of tensors (mmseg's
  backbone convention);
* the aggregation is exposed to :class:`MaskPoolingNeck`, which prepares
  the masks at ``mask_pooling_grids(feats)`` and computes the weighting
  function phi of Eq. 1 / the biases of Eq. 2, then hands the backbone
  tensors (never callbacks):

  - ``pooling == 'average'`` (``necks/mask_average_pooling.py``):
    ``dense_map(feats)`` gives the (B, C, h, w) map that CLIP averages and
    ``project(pooled)`` the layers after the pool;
  - ``pooling == 'attention'`` (``necks/mask_attention_pooling.py``):
    ``attend_masks(feats, biases)`` runs CLIP's attention pooling with one
    query per mask and the precomputed Eq. 2 bias of each layer.
"""
import math
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Tuple

import open_clip
import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..utils.open_clip_loader import create_open_clip, image_statistics

FINETUNE_SCOPES = ('all', 'attention', 'none')


class OpenCLIPVisualBackbone(BaseModule):
    """Base class of the CLIP-V families.

    Args:
        model_name: open_clip model config name.
        pretrained: open_clip pretrained tag, local weights file, or None
            (random initialisation).
        finetune: which CLIP-V parameters train: ``'all'``, ``'attention'``
            (position embedding + attention input projections) or ``'none'``.
            Defaults to the family's choice in the paper.
        cache_dir: where open_clip keeps downloaded weights.
        mean: per-channel RGB mean on the 0..1 scale (as open_clip gives
            it) that the weights were trained with. Default: the pretrained
            tag's, else OpenAI CLIP's (:func:`image_statistics`). Set it
            for your own weights: nothing in a weights file says which
            statistics they need.
        std: per-channel RGB standard deviation, 0..1 scale; default as
            ``mean``.
        clip_model: the open_clip model ``model_name`` already built (with
            ``pretrained`` and ``cache_dir``): its visual tower is used as
            it is. :class:`MaskCLIPpp` builds one model for CLIP-V and
            CLIP-T this way.
        init_cfg: ignored apart from mmengine bookkeeping: the weights come
            from ``pretrained`` and are never re-initialised.
    """

    #: 'average' (Eq. 1) or 'attention' (Eq. 2); set by each family.
    pooling: str = ''
    default_finetune: str = 'all'

    def __init__(self,
                 model_name: str,
                 pretrained: Optional[str] = None,
                 finetune: Optional[str] = None,
                 cache_dir: Optional[str] = None,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 clip_model: Optional[nn.Module] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        finetune = finetune or self.default_finetune
        if finetune not in FINETUNE_SCOPES:
            raise ValueError(f'finetune must be one of {FINETUNE_SCOPES}, '
                             f'got {finetune!r}')
        self.model_name = model_name
        self.pretrained = pretrained
        self.finetune = finetune
        model = clip_model if clip_model is not None else \
            create_open_clip(model_name, pretrained, cache_dir)
        #: D, the size of the joint image-text embedding space.
        self.embed_dims = open_clip.get_model_config(model_name)['embed_dim']
        self.clip = model.visual
        self._check_family()
        mean, std = self._statistics(mean, std)
        #: per-channel RGB mean / std on the 0..255 scale that inputs of
        #: :meth:`forward` must be normalised with.
        self.mean = tuple(255.0 * m for m in mean)
        self.std = tuple(255.0 * s for s in std)
        self._set_trainable()

    def _statistics(self, mean: Optional[Sequence[float]],
                    std: Optional[Sequence[float]]):
        """The (mean, std) on the 0..1 scale: given, or the defaults of
        :func:`image_statistics`; a local weights file without them is
        warned about."""
        given = dict(mean=mean, std=std)
        for name, values in given.items():
            if values is not None:
                given[name] = _check_statistic(name, values)
        defaults = image_statistics(self.model_name, self.pretrained)
        missing = [name for name, values in given.items() if values is None]
        if missing and self.pretrained is not None and osp.isfile(
                self.pretrained):
            warnings.warn(
                f'{type(self).__name__}: the weights {self.pretrained} are a '
                'local file and the backbone config does not give the image '
                f'{" and ".join(missing)} they were trained with; using '
                "OpenAI CLIP's (mean "
                f'{defaults["mean"]}, std {defaults["std"]}). If your CLIP '
                'was trained with other statistics, set backbone.mean and '
                'backbone.std (0..1 scale).', stacklevel=3)
        return tuple(given['mean'] or defaults['mean']), tuple(
            given['std'] or defaults['std'])

    # ------------------------------------------------------------------
    # family interface
    def _check_family(self) -> None:
        """Raise if ``self.clip`` is not a tower this family handles."""
        raise NotImplementedError

    def _is_finetuned_in_attention_scope(self, name: str) -> bool:
        """Whether parameter ``name`` (relative to ``self.clip``) is a
        position embedding or an attention input projection."""
        raise NotImplementedError

    @property
    def stride(self) -> int:
        """Input pixels per feature-grid cell."""
        raise NotImplementedError

    def image_embedding(self, x: Tensor) -> Tensor:
        """The standard CLIP image embedding (B, D) of normalised images,
        at any input size divisible by the stride."""
        raise NotImplementedError

    # ---- average-pooling families (Eq. 1) --------------------------------
    def dense_map(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """F_n of Eq. 1: the (B, C, h, w) map that CLIP averages."""
        raise NotImplementedError

    def project(self, pooled: Tensor) -> Tensor:
        """Proj of Eq. 1: CLIP's layers after the average pool,
        (..., C) -> (..., D)."""
        raise NotImplementedError

    # ---- attention-pooling families (Eq. 2) ------------------------------
    def attend_masks(self, feats: Tuple[Tensor, ...],
                     biases: Sequence[Tensor]) -> Tensor:
        """Mask embeddings (B, Q, D): CLIP's attention pooling with one query
        per mask and the precomputed Eq. 2 bias (B, heads, Q, h*w) of each
        of its ``mask_attention_layout[0]`` layers."""
        raise NotImplementedError

    # ------------------------------------------------------------------
    def _set_trainable(self) -> None:
        for name, param in self.clip.named_parameters():
            if self.finetune == 'all':
                param.requires_grad = True
            elif self.finetune == 'none':
                param.requires_grad = False
            else:
                param.requires_grad = \
                    self._is_finetuned_in_attention_scope(name)

    def train(self, mode: bool = True):
        """Frozen CLIP-V stays in eval mode (dropout, drop-path and batch
        norm statistics off) whatever the runner asks."""
        super().train(mode)
        if self.finetune == 'none':
            self.clip.eval()
        return self

    def init_weights(self) -> None:
        """Weights come from open_clip at construction; timm's own
        ``init_weights`` must never run over them."""
        self._is_init = True

    def feature_grid(self, feats: Tuple[Tensor, ...]) -> Tuple[int, int]:
        """(h, w) of the grid that mask pooling works on."""
        return tuple(feats[-1].shape[-2:])

    def mask_pooling_grids(
            self, feats: Tuple[Tensor, ...]) -> List[Tuple[int, int]]:
        """The grids the neck prepares masks at: the feature grid."""
        return [self.feature_grid(feats)]

    def normalize(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) RGB in 0..255 -> CLIP-normalised input."""
        mean = images.new_tensor(self.mean).view(1, 3, 1, 1)
        std = images.new_tensor(self.std).view(1, 3, 1, 1)
        return (images - mean) / std

    def extra_repr(self) -> str:
        return (f'model_name={self.model_name!r}, '
                f'pretrained={self.pretrained!r}, '
                f'finetune={self.finetune!r}, pooling={self.pooling!r}')


def _check_statistic(name: str,
                     values: Sequence[float]) -> Tuple[float, ...]:
    """Three finite values on the 0..1 scale (std positive)."""
    try:
        values = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        values = (values, )
    valid = len(values) == 3 and all(
        isinstance(v, float) and math.isfinite(v) and 0 <= v <= 1
        for v in values)
    if not valid or (name == 'std' and min(values) <= 0):
        hint = ' (0..255 values? divide them by 255)' \
            if any(isinstance(v, float) and v > 1 for v in values) else ''
        raise ValueError(
            f'backbone {name} must be 3 RGB values in '
            f'{"[0, 1]" if name == "mean" else "(0, 1]"}, on the 0..1 scale '
            f'open_clip uses; got {values}{hint}')
    return values


def check_input(x: Tensor, stride: int, name: str) -> None:
    """Images must be (B, 3, H, W) with H and W multiples of the stride."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f'{name} expects images of shape (B, 3, H, W), got '
                         f'{tuple(x.shape)}')
    if x.shape[2] % stride or x.shape[3] % stride:
        raise ValueError(
            f'{name} needs an input size divisible by its stride {stride}, '
            f'got {tuple(x.shape[2:])}; pad the batch (size_divisor) first')


def interpolate_pos_embed(pos_embed: Tensor, num_prefix: int,
                          old_grid: Tuple[int, int],
                          new_grid: Tuple[int, int]) -> Tensor:
    """Resize the patch part of a (num_prefix + h*w, C) position embedding.

    Bicubic with align_corners=True, as the official implementation resizes
    CLIP's position embeddings; prefix (CLS) entries are kept.
    """
    if tuple(old_grid) == tuple(new_grid):
        return pos_embed
    prefix, grid = pos_embed[:num_prefix], pos_embed[num_prefix:]
    grid = grid.reshape(1, *old_grid, -1).permute(0, 3, 1, 2)
    grid = torch.nn.functional.interpolate(
        grid.float(), size=new_grid, mode='bicubic', align_corners=True)
    grid = grid.to(pos_embed.dtype).permute(0, 2, 3, 1).flatten(0, 2)
    return torch.cat([prefix, grid], dim=0)
