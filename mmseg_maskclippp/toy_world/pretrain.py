"""Contrastive pretraining of the toy CLIP on the world's captions, with
open_clip's own model, tokenizer and loss.

The result is a plain open_clip state dict; the MaskCLIP++ backbone and
text classifier load it with ``pretrained=<file>``, exactly as they load a
downloaded checkpoint. Images are normalised with the model's own
``preprocess_cfg`` mean and std, the statistics the backbone normalises
with (:meth:`OpenCLIPVisualBackbone.normalize`).
"""
import json
import math
import os
import os.path as osp
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import open_clip
import torch
from open_clip.loss import ClipLoss
from torch import Tensor, nn

from .captions import CAPTION_TEMPLATE, CaptionBatches
from .world import GENERATOR_VERSION, ToyWorld

#: the toy CLIP's open_clip model config (``toy-world-vit.json``)
TOY_CLIP = 'toy-world-vit'


@dataclass(frozen=True)
class PretrainConfig:
    """How the toy CLIP is pretrained (fixed step count, seeded).

    Args:
        model_name: open_clip model config.
        steps: optimisation steps.
        batch_size: image-caption pairs per step.
        lr: AdamW peak learning rate (after a linear warm-up, cosine decay).
        weight_decay: AdamW weight decay of matrices.
        warmup: warm-up steps.
        final_single_share: share of single-region scenes after the
            curriculum (see :class:`CaptionBatches`).
        hard_negatives: texture-shifted twins in every batch.
        seed: seed of the weights and the batches.
    """
    model_name: str = TOY_CLIP
    steps: int = 300
    batch_size: int = 64
    lr: float = 5e-4
    weight_decay: float = 0.1
    warmup: int = 10
    final_single_share: float = 0.25
    hard_negatives: bool = True
    seed: int = 0


def images_to_tensor(model: nn.Module, images: np.ndarray) -> Tensor:
    """(B, H, W, 3) uint8 RGB -> (B, 3, H, W) input normalised with the
    model's ``preprocess_cfg``."""
    cfg = model.visual.preprocess_cfg
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(cfg['mean']).view(1, 3, 1, 1)
    std = torch.tensor(cfg['std']).view(1, 3, 1, 1)
    return (x - mean) / std


def contrastive_loss(model: nn.Module, tokenizer, loss_fn: ClipLoss,
                     images: np.ndarray, captions: Sequence[str]) -> Tensor:
    """open_clip's symmetric InfoNCE of a batch."""
    image = model.encode_image(images_to_tensor(model, images),
                               normalize=True)
    text = model.encode_text(tokenizer(list(captions)), normalize=True)
    return loss_fn(image, text, model.logit_scale.exp())


def lr_at(step: int, cfg: PretrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * t))


def pretrain_clip(
        world: ToyWorld,
        cfg: PretrainConfig,
        log: Optional[Callable[[str], None]] = None,
        log_interval: int = 50) -> Tuple[nn.Module, List[float]]:
    """Pretrain a new toy CLIP; returns it (in eval mode) and the loss of
    every step."""
    torch.manual_seed(cfg.seed)
    model = open_clip.create_model(cfg.model_name, pretrained=None)
    tokenizer = open_clip.get_tokenizer(cfg.model_name)
    loss_fn = ClipLoss()
    batches = CaptionBatches(world, cfg.batch_size, cfg.steps, cfg.seed,
                             cfg.final_single_share, cfg.hard_negatives)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optim = torch.optim.AdamW([
        dict(params=decay, weight_decay=cfg.weight_decay),
        dict(params=no_decay, weight_decay=0.0)
    ], lr=cfg.lr)
    model.train()
    losses = []
    for step in range(cfg.steps):
        for group in optim.param_groups:
            group['lr'] = lr_at(step, cfg)
        loss = contrastive_loss(model, tokenizer, loss_fn,
                                *batches.batch(step))
        optim.zero_grad()
        loss.backward()
        optim.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(loss.item())
        if log is not None and (step + 1) % log_interval == 0:
            log(f'toy CLIP step {step + 1}/{cfg.steps}: contrastive loss '
                f'{np.mean(losses[-log_interval:]):.3f}')
    return model.eval(), losses


@torch.no_grad()
def zero_shot_accuracy(model: nn.Module,
                       world: ToyWorld,
                       model_name: str = TOY_CLIP,
                       per_class: int = 8,
                       seed: int = 1) -> Dict[str, float]:
    """Top-1 (%) of whole-image classification of single-region scenes over
    every class name (prompt ``'a photo of a {}.'``), over seen and unseen
    classes."""
    tokenizer = open_clip.get_tokenizer(model_name)
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(world.num_classes), per_class)
    images = np.stack(
        [world.scene(rng, [c], num_regions=1)[0] for c in labels])
    text = model.encode_text(
        tokenizer([CAPTION_TEMPLATE.format(n) for n in world.class_names]),
        normalize=True)
    feats = model.encode_image(images_to_tensor(model, images),
                               normalize=True)
    correct = (feats @ text.t()).argmax(-1).numpy() == labels
    unseen = np.isin(labels, world.unseen_classes)
    return dict(
        all=100 * correct.mean(),
        seen=100 * correct[~unseen].mean(),
        unseen=100 * correct[unseen].mean() if unseen.any() else math.nan)


def clip_stamp(world: ToyWorld, cfg: PretrainConfig) -> Dict:
    """Everything a pretrained toy CLIP follows from."""
    return dict(world=world.params(), pretrain=asdict(cfg),
                model=open_clip.get_model_config(cfg.model_name),
                generator_version=GENERATOR_VERSION)


def prepare_toy_clip(world: ToyWorld,
                     cfg: PretrainConfig,
                     path: str,
                     log: Optional[Callable[[str], None]] = None,
                     force: bool = False) -> bool:
    """Make sure ``path`` holds the toy CLIP of this world and config;
    pretrain and save it if missing, made otherwise (the parameters are
    kept next to it in ``<path>.json``) or ``force``. Returns whether it
    was trained; the losses and zero-shot accuracy go to
    ``<path>.log.json``."""
    stamp_path = path + '.json'
    wanted = clip_stamp(world, cfg)
    if not force and osp.isfile(path) and osp.isfile(stamp_path):
        with open(stamp_path, encoding='utf-8') as f:
            if json.load(f) == wanted:
                return False
    model, losses = pretrain_clip(world, cfg, log)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.save(model.state_dict(), path)
    accuracy = zero_shot_accuracy(model, world, cfg.model_name)
    with open(stamp_path, 'w', encoding='utf-8') as f:
        json.dump(wanted, f, indent=2)
    with open(path + '.log.json', 'w', encoding='utf-8') as f:
        json.dump(dict(losses=losses, zero_shot_top1=accuracy), f)
    if log is not None:
        log(f'toy CLIP saved to {path}; zero-shot top-1 of single-region '
            'scenes: ' + ', '.join(f'{k} {v:.1f}%'
                                   for k, v in accuracy.items()))
    return True
