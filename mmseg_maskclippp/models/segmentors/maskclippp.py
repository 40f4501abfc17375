"""MaskCLIP++: fine-tune CLIP with ground-truth masks; classify generated
masks at inference (paper Fig. 3).

Training (no mask generator)::

    GT masks --CLIP-V + mask-pooling neck--> E_m (N, D)
    vocabulary --CLIP-T--> E_t (K, T, D), one random synonym per class
    S = <E_m, E_t> (N, K, T) --PSM--> logits (N, K) --> reweighted CE

Inference::

    image --mask generator--> masks (+ generator logits)
    masks --CLIP-V + neck + PSM--> logits over every synonym (N, Ka)
          --max over each class's synonyms--> (N, K)
          --Eq. 4 with the generator's probabilities, void--> scores
    scores x masks --> semantic map / panoptic segments / instances
"""
import logging
import random
import re
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import get_dist_info
from mmengine.logging import MessageHub, print_log
from mmengine.structures import InstanceData, PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.structures import SegDataSample
from torch import Tensor

from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.utils.checkpoint import (CheckpointMismatchError,
                                               mismatch_message)
from mmseg_maskclippp.vocabulary import Vocabulary, VocabularyLike
from ..backbones.base import OpenCLIPVisualBackbone
from ..backbones.open_clip_visual import build_open_clip_visual
from ..mask_generators.base import GeneratedMasks
from ..necks.mask_pooling import MaskEmbeddings, neck_args_for
from ..postprocessing import (GeometricEnsemble, instance_inference,
                              panoptic_inference, semantic_inference,
                              semantic_labels)
from ..text.text_classifier import OpenCLIPTextClassifier
from ..utils.flip import flip_like_image
from ..utils.input_checks import check_images, check_masks
from ..utils.open_clip_loader import create_open_clip
from ..utils.resize import resize_short_side

TASKS = ('semantic', 'panoptic', 'instance')


#: default cap on the long side of CLIP's test input (``clip_max_long_side``)
CLIP_MAX_LONG_SIDE = 4096


def shares_open_clip(backbone: dict, text_encoder: dict) -> bool:
    """Whether a backbone and a text encoder config ask for the same
    open_clip model (name, weights, download folder) from this package's
    CLIP-V and CLIP-T classes, which can then take one built model."""
    if not isinstance(backbone, dict) or not isinstance(text_encoder, dict) \
            or 'clip_model' in backbone or 'clip_model' in text_encoder:
        return False
    visual = backbone.get('type')
    visual = MODELS.get(visual) if isinstance(visual, str) else visual
    text = text_encoder.get('type')
    text = MODELS.get(text) if isinstance(text, str) else text
    ours = (visual is build_open_clip_visual or isinstance(visual, type)
            and issubclass(visual, OpenCLIPVisualBackbone)) \
        and text is OpenCLIPTextClassifier
    return ours and 'model_name' in backbone and (
        backbone.get('model_name'), backbone.get('pretrained'),
        backbone.get('cache_dir')) == (
            text_encoder.get('model_name'), text_encoder.get('pretrained'),
            text_encoder.get('open_clip_cache_dir'))


def with_backbone_clip(backbone: dict, text_encoder: dict) -> dict:
    """The text encoder config, with the backbone's open_clip model where it
    names none.

    A text encoder config without ``model_name`` (and without a built
    ``clip_model``) takes the backbone's ``model_name`` and, unless it sets
    them, its ``pretrained`` and ``cache_dir`` (as
    ``open_clip_cache_dir``), so a config names its CLIP once.
    """
    if not isinstance(backbone, dict) or not isinstance(text_encoder, dict) \
            or 'model_name' in text_encoder or 'clip_model' in text_encoder \
            or 'model_name' not in backbone:
        return text_encoder
    defaults = dict(model_name=backbone['model_name'])
    if 'pretrained' in backbone:
        defaults['pretrained'] = backbone['pretrained']
    if 'cache_dir' in backbone:
        defaults['open_clip_cache_dir'] = backbone['cache_dir']
    return {**defaults, **text_encoder}


def pad_images(images: Sequence[Tensor], divisor: int,
               colour: Sequence[float]) -> Tensor:
    """Stack (3, H_i, W_i) images padded bottom/right with ``colour`` to the
    largest size rounded up to ``divisor``."""
    h = max(img.shape[-2] for img in images)
    w = max(img.shape[-1] for img in images)
    h, w = -(-h // divisor) * divisor, -(-w // divisor) * divisor
    batch = images[0].new_tensor(colour).view(1, 3, 1, 1).repeat(
        len(images), 1, h, w)
    for i, img in enumerate(images):
        batch[i, :, :img.shape[-2], :img.shape[-1]] = img
    return batch


def _require_tuned_weights(model: 'MaskCLIPpp', incompatible_keys) -> None:
    """Load-state-dict post-hook: a checkpoint without the weights of the
    parts MaskCLIP++ trains (CLIP-V, neck, PSM, a tuned CLIP-T) would leave
    them random or untuned; mmengine's non-strict loaders (``load_from``,
    ``init_model``, ``MMSegInferencer``) only log that, so fail here."""
    parts = model.tuned_parts()
    missing = [
        k for k in incompatible_keys.missing_keys
        if re.sub(r'^(module\.)+', '', k).split('.')[0] in parts
    ]
    if missing:
        raise CheckpointMismatchError(
            'the checkpoint lacks weights of the trained parts of MaskCLIPpp '
            f'({", ".join(parts)}); a checkpoint of another model or '
            'config? ' + mismatch_message(incompatible_keys.missing_keys,
                                          incompatible_keys.unexpected_keys))


@MODELS.register_module()
class MaskCLIPpp(BaseSegmentor):
    """The MaskCLIP++ segmentor.

    Args:
        backbone: CLIP-V (``OpenCLIPVisual`` or one family class).
        text_encoder: CLIP-T (``OpenCLIPTextClassifier``), same CLIP.
            Without ``model_name`` it takes the backbone's ``model_name``
            and, unless set, ``pretrained`` and ``cache_dir`` (see
            :func:`with_backbone_clip`); both towers then share one built
            open_clip model.
        decode_head: the PSM (``LinearPSM``, ``PseudoTextPSM``, ...);
            ``embed_dims`` and ``num_templates`` are filled in.
        neck: the mask-pooling neck; ``pooling`` and ``attention_layout``
            are filled in from the backbone.
        loss: the mask classification loss.
        train_vocabulary: classes of the training masks (built-in name,
            vocabulary file or list; see :class:`Vocabulary`). Also defines
            which test classes are *seen*.
        test_vocabulary: classes predicted at inference; defaults to the
            training vocabulary; change it with :meth:`set_vocabulary`.
        mask_generator: where inference masks come from (needed for
            ``predict``, not for training).
        ensemble: ``dict(gamma=..., seen_vocabulary=...)`` for Eq. 4 with a
            generator that has class logits; None or gamma 0 uses CLIP's
            probabilities only. ``seen_vocabulary`` (a vocabulary: built-in
            name, file or list) makes the seen set explicit: the test
            classes sharing a synonym with it; None: the test classes the
            generator's vocabulary matches (closed-vocabulary generators).
            An open-vocabulary generator (FC-CLIP, MAFT+) names every test
            class, so give its training vocabulary here.
        test_cfg: inference options:

            - ``clip_short_side``: resize the image fed to CLIP so that its
              short side has this length (None: as the pipeline made it);
            - ``clip_max_long_side`` (4096): the long side of that resized
              image is capped here, so that an image of an extreme aspect
              ratio (1 x 2048) gets a smaller short side rather than a
              gigapixel CLIP input; no benchmark image reaches it;
            - ``tasks``: any of ``'semantic'``, ``'panoptic'``,
              ``'instance'`` (default: semantic only);
            - ``thing_classes``: names of the test classes that are
              countable things (panoptic and instance), as a list or a
              vocabulary (built-in name or file) of them; default: all;
            - ``object_mask_threshold`` (0.8), ``overlap_threshold`` (0.8),
              ``max_per_image`` (100): panoptic / instance thresholds;
            - ``keep_seg_logits`` (False): also keep the (K, H, W) semantic
              scores as ``seg_logits`` in every result (K float planes at
              the original size: 1.1 GB per 512 x 683 image at K = 847);
              without it only the labels are computed, a pixel chunk at a
              time.
        data_preprocessor: default ``MaskCLIPDataPreProcessor`` padding to
            the CLIP stride; unless it sets ``pad_val``, it pads with the
            backbone's mean colour.
        train_cfg: None (accepted because mmseg's ``init_model`` sets it;
            MaskCLIP++ has no training options here).
        pretrained: None (accepted because mmseg's ``init_model`` sets it;
            the CLIP weights come from ``backbone.pretrained`` and
            ``text_encoder.pretrained``, which defaults to the former).

    Loading a state dict that lacks weights of CLIP-V, the neck, the PSM or
    a fine-tuned CLIP-T raises :class:`CheckpointMismatchError` naming the
    missing keys, whatever loads it.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 decode_head: dict,
                 neck: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 train_vocabulary: Optional[VocabularyLike] = None,
                 test_vocabulary: Optional[VocabularyLike] = None,
                 mask_generator: Optional[dict] = None,
                 ensemble: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg=None):
        if pretrained is not None:
            raise ValueError(
                f'MaskCLIPpp(pretrained={pretrained!r}): the CLIP weights '
                'come from backbone.pretrained and text_encoder.pretrained; '
                'a MaskCLIP++ checkpoint loads with load_from / the '
                'checkpoint argument')
        if train_cfg:
            raise ValueError(f'MaskCLIPpp has no train_cfg options, got '
                             f'{train_cfg!r}')
        # built from mmseg's registry, whatever the default scope
        if data_preprocessor is None or isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(
                data_preprocessor
                or dict(type='MaskCLIPDataPreProcessor', size_divisor=32))
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        text_encoder = with_backbone_clip(backbone, text_encoder)
        # one open_clip model for both towers when they name the same
        # weights: built (and its weights read) once, not twice
        shared = dict(clip_model=create_open_clip(
            backbone['model_name'], backbone.get('pretrained'),
            backbone.get('cache_dir'))) \
            if shares_open_clip(backbone, text_encoder) else None
        self.backbone = MODELS.build(backbone, default_args=shared)
        if getattr(self.data_preprocessor, 'pads_with_backbone_mean', False):
            self.data_preprocessor.set_pad_val(self.backbone.mean)
        self.neck = MODELS.build(
            neck or dict(type='MaskPoolingNeck'),
            default_args=neck_args_for(self.backbone))
        self.text_encoder = MODELS.build(text_encoder, default_args=shared)
        if self.text_encoder.embed_dims != self.backbone.embed_dims:
            raise ValueError(
                f'text encoder {self.text_encoder.model_name!r} embeds in '
                f'{self.text_encoder.embed_dims} dimensions, backbone '
                f'{self.backbone.model_name!r} in {self.backbone.embed_dims}')
        self.decode_head = MODELS.build(
            decode_head,
            default_args=dict(
                embed_dims=self.backbone.embed_dims,
                num_templates=len(self.text_encoder.templates)))
        self.loss_fn = MODELS.build(
            loss or dict(type='ReweightedCrossEntropyLoss'))
        self.mask_generator = MODELS.build(mask_generator) \
            if mask_generator is not None else None
        self.test_cfg = dict(test_cfg or {})
        tasks = self.test_cfg.setdefault('tasks', ('semantic', ))
        if isinstance(tasks, str):
            tasks = self.test_cfg['tasks'] = (tasks, )
        unknown = set(tasks) - set(TASKS)
        if unknown:
            raise ValueError(f'test_cfg.tasks: unknown {sorted(unknown)}; '
                             f'choose from {TASKS}')
        ensemble = dict(ensemble or {})
        unknown = set(ensemble) - {'gamma', 'seen_vocabulary'}
        if unknown:
            raise ValueError(f'ensemble: unknown keys {sorted(unknown)}; '
                             'it takes gamma and seen_vocabulary')
        self.gamma = float(ensemble.get('gamma', 0.0))
        seen = ensemble.get('seen_vocabulary')
        #: the classes whose generator scores enter Eq. 4, or None (those
        #: the generator matches)
        self.ensemble_seen_vocabulary = Vocabulary.build(seen) \
            if seen is not None else None
        self.train_vocabulary = Vocabulary.build(train_vocabulary) \
            if train_vocabulary is not None else None
        if test_vocabulary is None and self.train_vocabulary is None:
            raise ValueError('give train_vocabulary, test_vocabulary or both')
        self.set_vocabulary(test_vocabulary if test_vocabulary is not None
                            else self.train_vocabulary)
        self.register_load_state_dict_post_hook(_require_tuned_weights)

    def tuned_parts(self) -> List[str]:
        """Top-level modules whose weights training changes (and every
        MaskCLIP++ checkpoint must hold)."""
        parts = ['backbone', 'neck', 'decode_head']
        return parts if self.text_encoder.frozen else parts + ['text_encoder']

    # ------------------------------------------------------------------
    # vocabulary
    def set_vocabulary(self, vocabulary: VocabularyLike) -> None:
        """Change the classes predicted at inference.

        Accepts a :class:`Vocabulary`, a built-in name, a vocabulary file or
        a list of class names with comma-separated synonyms
        (``['sky,clouds', 'tree']``). Text embeddings are computed at the
        next inference (and cached); the seen flags, the thing flags and
        the generator class mapping of Eq. 4 are rebuilt now.
        """
        self.test_vocabulary = Vocabulary.build(vocabulary)
        #: (K,) bool: test classes sharing a synonym with a training class
        self.seen_classes = torch.tensor(
            self.test_vocabulary.seen_mask(self.train_vocabulary)
            if self.train_vocabulary is not None else [False] *
            len(self.test_vocabulary))
        things = self.test_cfg.get('thing_classes')
        if things is None:
            self.is_thing = torch.ones(len(self.test_vocabulary), dtype=bool)
        else:
            if isinstance(things, str):
                things = Vocabulary.build(things).names
            things = set(things)
            self.is_thing = torch.tensor(
                [name in things for name in self.test_vocabulary.names])
        generator_vocab = getattr(self.mask_generator, 'vocabulary', None)
        ensemble_seen = self.test_vocabulary.seen_mask(
            self.ensemble_seen_vocabulary) \
            if self.ensemble_seen_vocabulary is not None else None
        self.ensemble = GeometricEnsemble(
            self.test_vocabulary, generator_vocab, self.gamma,
            ensemble_seen) if generator_vocab is not None else None

    @property
    def dataset_meta(self) -> dict:
        """``classes`` (display names of the test vocabulary) and
        ``palette`` (:attr:`Vocabulary.palette`), as mmseg's inferencer and
        visualisers read them; :meth:`set_vocabulary` changes both."""
        return dict(
            classes=tuple(self.test_vocabulary.names),
            palette=self.test_vocabulary.palette)

    @dataset_meta.setter
    def dataset_meta(self, meta: dict) -> None:
        """mmseg's ``init_model`` and ``MMSegInferencer`` assign the
        checkpoint's dataset meta (the training set's classes, or
        Cityscapes'); the predicted classes stay the test vocabulary."""
        classes = tuple((meta or {}).get('classes') or ())
        if classes != tuple(self.test_vocabulary.names):
            print_log(
                f'MaskCLIPpp predicts its test vocabulary '
                f'({len(self.test_vocabulary)} classes from '
                f'{self.test_vocabulary.source}), not the {len(classes)} '
                'classes of the dataset_meta given; change the classes with '
                'set_vocabulary()', logger='current', level=logging.WARNING)

    # ------------------------------------------------------------------
    # mask classification
    def _synonym_max(self, logits: Tensor, vocabulary: Vocabulary) -> Tensor:
        """(N, Ka) synonym logits -> (N, K): max over each class's
        synonyms (a segment reduction)."""
        index = vocabulary.synonym_to_class(logits.device)
        out = logits.new_full((logits.shape[0], len(vocabulary)),
                              float('-inf'))
        return out.scatter_reduce(1, index.expand(logits.shape[0], -1),
                                  logits, reduce='amax')

    def _psm_logits(self, embeddings: MaskEmbeddings, feats,
                    text_embeds: Tensor) -> Tensor:
        """S = <E_m, E_t> per template, then the PSM: (N, Ka) logits. S is
        only computed for a PSM that reads it (``needs_similarities``)."""
        masks = F.normalize(embeddings.embeds, dim=-1)
        text_embeds = text_embeds.to(masks.dtype)
        corrs = torch.einsum('nd,ktd->nkt', masks, text_embeds) \
            if self.decode_head.needs_similarities else None
        patches = self.neck.patch_embeddings(feats, self.backbone) \
            if self.decode_head.needs_patch_embeddings else None
        return self.decode_head(corrs, masks, text_embeds,
                                embeddings.num_masks, patches,
                                self.text_encoder.logit_scale)

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """CLIP-V encoder features of a (B, 3, H, W) RGB 0..255 batch."""
        return self.backbone(self.backbone.normalize(inputs))

    def _classify(self, images: Sequence[Tensor],
                  masks: Sequence[Tensor]) -> List[Tensor]:
        """Per-image (Q_i, K) logits of (Q_i, H_i, W_i) masks of
        (3, H_i, W_i) RGB 0..255 images, at CLIP's test resolution."""
        short = self.test_cfg.get('clip_short_side')
        max_long = self.test_cfg.get('clip_max_long_side',
                                     CLIP_MAX_LONG_SIDE)
        clip_images, clip_masks = [], []
        for i, (img, m) in enumerate(zip(images, masks)):
            if m.ndim != 3 or m.shape[-2:] != img.shape[-2:]:
                raise ValueError(
                    f'masks of image {i} have shape {tuple(m.shape)}; '
                    f'expected (Q, {img.shape[-2]}, {img.shape[-1]}), the '
                    'image size')
            m = m.to(img.device, torch.float)
            if short:
                size = resize_short_side(tuple(img.shape[-2:]), short,
                                         max_long)
                img = F.interpolate(img[None], size=size, mode='bilinear',
                                    align_corners=False)[0]
                m = F.interpolate(m[None], size=size, mode='bilinear',
                                  align_corners=False)[0] if len(m) else \
                    m.new_zeros(0, *size)
            clip_images.append(img)
            clip_masks.append(m)
        batch = pad_images(clip_images, self.backbone.stride,
                           self.backbone.mean)
        feats = self.extract_feat(batch)
        embeddings = self.neck(
            feats, clip_masks, self.backbone,
            image_sizes=[tuple(img.shape[-2:]) for img in clip_images])
        text = self.text_encoder.embed(self.test_vocabulary)
        logits = self._synonym_max(
            self._psm_logits(embeddings, feats, text), self.test_vocabulary)
        return list(logits.split(embeddings.num_masks))

    @torch.no_grad()
    def classify_masks(self, images: Tensor,
                       masks: Sequence[Tensor]) -> List[Tensor]:
        """Classify masks over the current test vocabulary.

        Args:
            images: (B, 3, H, W) float RGB values in 0..255 (not
                normalised).
            masks: B tensors (Q_i, H, W): bool, or numbers in [0, 1].

        Returns:
            B tensors (Q_i, K): PSM logits, max over synonyms, before
            softmax and without any ensemble. The model's test-time CLIP
            resizing (``test_cfg.clip_short_side``) is applied.

        Raises:
            ValueError: wrong shapes, NaN or infinite values, images
                outside 0..255 or masks outside [0, 1]. Images whose values
                all lie in [0, 1] (scaled to 0..1?) are warned about.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError('images must be (B, 3, H, W), got '
                             f'{tuple(images.shape)}')
        if len(masks) != len(images):
            raise ValueError(f'got masks for {len(masks)} images and '
                             f'{len(images)} images')
        images = list(images)
        check_images(images, 'classify_masks')
        check_masks(masks, 'classify_masks')
        return self._classify(images, masks)

    # ------------------------------------------------------------------
    # training
    def _zero_loss(self) -> Tensor:
        """A zero that depends on every trainable parameter, so that DDP
        sees a gradient for each of them in a batch without masks."""
        return sum(p.sum() * 0 for p in self.parameters() if p.requires_grad)

    def _synonym_rng(self) -> Optional[random.Random]:
        """The generator of this training iteration's synonym draw, from
        (seed, iteration, rank) of the Runner's message hub, so that a
        resumed run draws what the uninterrupted one did; None (Python's
        global generator) outside a Runner."""
        hub = MessageHub.get_current_instance()
        seed, iteration = hub.get_info('seed'), hub.get_info('iter')
        if seed is None or iteration is None:
            return None
        rank, _ = get_dist_info()
        return random.Random(f'{seed}/{iteration}/{rank}')

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        if self.train_vocabulary is None:
            raise ValueError('training needs model.train_vocabulary')
        masks, labels = [], []
        for sample in data_samples:
            image = sample.metainfo.get('img_path', 'a training image')
            if 'gt_instances' not in sample:
                raise KeyError(
                    f'{image} has no GT masks: the training pipeline needs '
                    'GenerateGTMasks and PackMaskCLIPInputs')
            if len(sample.gt_instances.masks) == 0:
                warnings.warn(
                    f'{image}: no ground-truth mask (after the training '
                    'transforms its label map holds only ignore_index or '
                    'crowd pixels); it adds nothing to the loss')
            masks.append(sample.gt_instances.masks)
            labels.append(sample.gt_instances.labels)
        name = self.loss_fn.loss_name
        if sum(len(m) for m in masks) == 0:
            return {name: self._zero_loss()}
        feats = self.extract_feat(inputs)
        embeddings = self.neck(feats, masks, self.backbone)
        text = self.text_encoder.embed_training_sample(
            self.train_vocabulary, self._synonym_rng())
        logits = self._psm_logits(embeddings, feats, text)
        return {
            name:
            self.loss_fn(logits, torch.cat(labels), embeddings.img_idx,
                         embeddings.areas)
        }

    # ------------------------------------------------------------------
    # inference
    def _images(self, inputs: Tensor, data_samples) -> List[Tensor]:
        """The unpadded images of a padded batch, checked finite and
        0..255 (:func:`check_images`)."""
        images = [
            inputs[i, :, :s.img_shape[0], :s.img_shape[1]]
            for i, s in enumerate(data_samples)
        ]
        files = [s.metainfo.get('img_path') for s in data_samples]
        check_images(images, 'MaskCLIPpp input' + (
            f' ({", ".join(map(str, files))})' if any(files) else ''))
        return images

    def _generate(self, images, data_samples) -> List[GeneratedMasks]:
        if self.mask_generator is None:
            raise RuntimeError(
                'inference needs masks: set model.mask_generator (for '
                "example dict(type='GTMaskGenerator') or a Mask2Former)")
        generated = self.mask_generator(images, data_samples)
        for i, (g, img) in enumerate(zip(generated, images)):
            if g.masks.shape[-2:] != img.shape[-2:]:
                raise ValueError(
                    f'{type(self.mask_generator).__name__} returned masks of '
                    f'size {tuple(g.masks.shape[-2:])} for image {i} of size '
                    f'{tuple(img.shape[-2:])}')
        check_masks([g.masks for g in generated],
                    type(self.mask_generator).__name__)
        return generated

    def class_scores(self, logits: Tensor,
                     generator_logits: Optional[Tensor]) -> Tensor:
        """Final per-mask class probabilities: (Q, K) from CLIP alone, or
        (Q, K + 1) with the generator's void last when it has logits."""
        if generator_logits is None:
            return logits.softmax(-1)
        if self.ensemble is None:
            raise ValueError(
                'the mask generator returned class logits but declares no '
                'vocabulary for them')
        return self.ensemble(logits, generator_logits)

    def _default_samples(self, inputs: Tensor) -> List[SegDataSample]:
        shape = tuple(inputs.shape[-2:])
        return [
            SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape))
            for _ in range(len(inputs))
        ]

    def _classified_masks(self, inputs: Tensor, data_samples):
        """Generator masks of every image of a padded batch with their CLIP
        logits (Q, K) and final class scores (Q, K) or (Q, K + 1)."""
        images = self._images(inputs, data_samples)
        generated = self._generate(images, data_samples)
        logits = self._classify(images, [g.masks for g in generated])
        scores = [
            self.class_scores(lg, g.logits)
            for g, lg in zip(generated, logits)
        ]
        return generated, logits, scores

    def encode_decode(self, inputs: Tensor, batch_img_metas) -> Tensor:
        """(B, K, H, W) semantic scores of a padded batch."""
        samples = [SegDataSample(metainfo=m) for m in batch_img_metas]
        generated, _, scores = self._classified_masks(inputs, samples)
        num_classes = len(self.test_vocabulary)
        seg = inputs.new_zeros(len(inputs), num_classes, *inputs.shape[-2:])
        for i, (g, s) in enumerate(zip(generated, scores)):
            h, w = g.masks.shape[-2:]
            seg[i, :, :h, :w] = semantic_inference(s, g.masks, num_classes)
        return seg

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples=None):
        """Results at the original image size: semantic (always) as
        ``pred_sem_seg`` (and the (K, H, W) scores as ``seg_logits`` when
        ``test_cfg.keep_seg_logits``); panoptic as
        ``pred_panoptic_seg`` and instances as ``pred_instances`` when
        ``test_cfg.tasks`` asks; with a GT-oracle generator also
        ``pred_mask_labels`` (predicted and GT class of every GT mask).
        With a training vocabulary, the metainfo ``seen_classes`` (K bools)
        gives the metrics their seen / unseen split.

        Masks are resized to the original size before they are combined
        (the official order), so the labels are those of the scores at the
        evaluation size."""
        if data_samples is None:
            data_samples = self._default_samples(inputs)
        generated, logits, scores = self._classified_masks(
            inputs, data_samples)
        tasks = self.test_cfg['tasks']
        num_classes = len(self.test_vocabulary)
        keep_logits = self.test_cfg.get('keep_seg_logits', False)
        for sample, g, lg, s in zip(data_samples, generated, logits, scores):
            masks = self._to_original(g.masks, sample.metainfo)
            if keep_logits:
                semantic = semantic_inference(s, masks, num_classes)
                sample.seg_logits = PixelData(data=semantic)
                labels = semantic.argmax(0)
            else:
                labels = semantic_labels(s, masks, num_classes)
            sample.pred_sem_seg = PixelData(data=labels[None])
            if self.train_vocabulary is not None:
                sample.set_metainfo(
                    dict(seen_classes=self.seen_classes.tolist()))
            if g.labels is not None:
                sample.pred_mask_labels = InstanceData(
                    pred=lg.argmax(-1), gt=g.labels)
            if 'panoptic' in tasks:
                panoptic = panoptic_inference(
                    s, masks, num_classes, self.is_thing,
                    self.test_cfg.get('object_mask_threshold', 0.8),
                    self.test_cfg.get('overlap_threshold', 0.8))
                sample.pred_panoptic_seg = PixelData(sem_seg=panoptic[None])
            if 'instance' in tasks:
                sample.pred_instances = instance_inference(
                    s, masks, num_classes, self.is_thing,
                    self.test_cfg.get('max_per_image', 100))
        return data_samples

    def _to_original(self, masks: Tensor, meta: dict) -> Tensor:
        """Masks at the pipeline size -> the original image (flip undone)."""
        masks = flip_like_image(masks, meta)
        size = tuple(meta['ori_shape'][:2])
        if tuple(masks.shape[-2:]) != size and len(masks):
            masks = F.interpolate(masks[None], size=size, mode='bilinear',
                                  align_corners=False)[0]
        return masks

    def _forward(self, inputs: Tensor, data_samples=None) -> List[Tensor]:
        """Mask logits (Q_i, K) per image, for GT masks when the samples
        carry them, else for the generator's masks."""
        if data_samples is None:
            data_samples = self._default_samples(inputs)
        images = self._images(inputs, data_samples)
        if all('gt_instances' in s for s in data_samples):
            masks = [
                s.gt_instances.masks[:, :img.shape[-2], :img.shape[-1]]
                for s, img in zip(data_samples, images)
            ]
            check_masks(masks, 'GT masks')
        else:
            masks = [g.masks for g in self._generate(images, data_samples)]
        return self._classify(images, masks)
