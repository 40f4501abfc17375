"""CLIP-T as a classifier: per-template text embeddings E_t of a vocabulary.

For every class, every synonym and every prompt template one sentence is
encoded and L2-normalised on its own; the template axis is kept (shape
classes-or-synonyms x T x D), because the Linear PSM works on it and the
PseudoText PSM averages it itself.

A frozen text tower encodes a vocabulary once: the result is kept in memory
and on disk, keyed by the model name, a digest of the text weights, the
templates and the sentences, so A-847 is not re-encoded at every start;
a new vocabulary encodes only the synonyms that no earlier one had.
"""
import hashlib
import os
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence, Union

import open_clip
import torch
from mmengine.dist import all_gather, get_dist_info, is_main_process
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.vocabulary import Vocabulary
from ..utils.open_clip_loader import create_open_clip

TEMPLATE_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'templates')
DEFAULT_CACHE_DIR = osp.join('~', '.cache', 'mmseg_maskclippp',
                             'text_embeddings')


def load_templates(templates: Union[str, Sequence[str]]) -> List[str]:
    """Prompt templates by set name (``'t1'``, ``'t14'``, ``'t80'``), from
    a file (one template per line) or as a list. Each must contain ``{}``."""
    if isinstance(templates, str):
        path = osp.join(TEMPLATE_DIR, templates + '.txt')
        if not osp.isfile(path):
            path = templates
        if not osp.isfile(path):
            known = sorted(f[:-4] for f in os.listdir(TEMPLATE_DIR))
            raise ValueError(f'templates {templates!r} is neither a template '
                             f'set ({", ".join(known)}) nor a file')
        with open(path, encoding='utf-8') as f:
            templates = [line.rstrip('\n') for line in f if line.strip()]
    templates = list(templates)
    if not templates:
        raise ValueError('no prompt templates given')
    for t in templates:
        if t.count('{}') != 1:
            raise ValueError(f'template {t!r} must contain "{{}}" once')
    return templates


@MODELS.register_module()
class OpenCLIPTextClassifier(BaseModule):
    """Text embeddings of open vocabularies from an open_clip text tower.

    Args:
        model_name: open_clip model config name (the same CLIP as the
            backbone).
        pretrained: open_clip pretrained tag, local file, or None.
        templates: template set name (``'t1'``, ``'t14'``, ``'t80'``), file
            or list.
        finetune: ``'none'`` (frozen, cached) or ``'attention'``: train the
            position embedding and the attention input projections of every
            text block (the paper's ViT-L / COCO-Stuff row); embeddings are
            then recomputed at every training iteration and never cached on
            disk.
        cache_dir: disk cache of frozen embeddings; None disables it.
        chunk_size: sentences encoded per forward.
        open_clip_cache_dir: where open_clip keeps downloaded weights.
    """

    def __init__(self,
                 model_name: str,
                 pretrained: Optional[str] = None,
                 templates: Union[str, Sequence[str]] = 't14',
                 finetune: str = 'none',
                 cache_dir: Optional[str] = DEFAULT_CACHE_DIR,
                 chunk_size: int = 512,
                 open_clip_cache_dir: Optional[str] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if finetune not in ('none', 'attention'):
            raise ValueError("finetune must be 'none' or 'attention', got "
                             f'{finetune!r}')
        self.model_name = model_name
        self.finetune = finetune
        self.templates = load_templates(templates)
        self.cache_dir = osp.expanduser(cache_dir) if cache_dir else None
        self.chunk_size = chunk_size
        clip = create_open_clip(model_name, pretrained, open_clip_cache_dir)
        clip.visual = None
        self.clip = clip
        #: D, the size of the joint image-text embedding space
        self.embed_dim = open_clip.get_model_config(model_name)['embed_dim']
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self._read_logit_scale()
        for name, param in self.clip.named_parameters():
            param.requires_grad = finetune == 'attention' and (
                name.endswith('positional_embedding')
                or '.attn.in_proj_' in name)
        self._memory: Dict[Vocabulary, Tensor] = {}
        #: synonym -> (T, D) embeddings, shared by all vocabularies
        self._synonyms: Dict[str, Tensor] = {}
        self._digest: Optional[str] = None
        self.register_load_state_dict_post_hook(
            lambda module, keys: module._on_load())

    # ------------------------------------------------------------------
    @property
    def frozen(self) -> bool:
        return self.finetune == 'none'

    @property
    def device(self) -> torch.device:
        return self.clip.logit_scale.device

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.clip.eval()
        elif mode:
            # weights are about to change: eval-time embeddings go stale
            self._forget()
        return self

    def init_weights(self) -> None:
        """Weights come from open_clip; nothing to initialise."""
        self._is_init = True

    def _read_logit_scale(self) -> None:
        #: min(exp(logit_scale), 100) of the CLIP weights, a constant
        self.logit_scale = float(self.clip.logit_scale.detach().exp().clamp(
            max=100))

    def _on_load(self) -> None:
        """Loaded weights (a checkpoint of a model built without pretrained
        weights) bring their own logit scale and embeddings."""
        self._read_logit_scale()
        self._forget()

    def _forget(self) -> None:
        self._memory.clear()
        self._synonyms.clear()
        self._digest = None

    def sentences(self, synonyms: Sequence[str]) -> List[str]:
        """Synonym-major, template-minor sentences (S * T)."""
        return [t.format(s) for s in synonyms for t in self.templates]

    def encode_sentences(self, sentences: Sequence[str]) -> Tensor:
        """(S, D) L2-normalised sentence embeddings, in chunks; with
        gradients when the tower is fine-tuned and in training mode."""
        out = []
        grad = not self.frozen and self.training
        with torch.set_grad_enabled(grad), torch.autocast(
                self.device.type, enabled=False):
            for i in range(0, len(sentences), self.chunk_size):
                tokens = self.tokenizer(
                    list(sentences[i:i + self.chunk_size])).to(self.device)
                out.append(self.clip.encode_text(tokens, normalize=True))
        if not out:
            return torch.zeros(0, self.embed_dim, device=self.device)
        return torch.cat(out)

    def _encode_distributed(self, sentences: List[str]) -> Tensor:
        """Encode with every rank taking a contiguous share, then gather."""
        rank, world = get_dist_info()
        if world == 1:
            return self.encode_sentences(sentences)
        share = -(-len(sentences) // world)
        mine = self.encode_sentences(sentences[rank * share:(rank + 1) *
                                               share])
        padded = torch.cat(
            [mine, mine.new_zeros(share - len(mine), self.embed_dim)])
        return torch.cat(all_gather(padded))[:len(sentences)]

    def _weights_digest(self) -> str:
        if self._digest is None:
            h = hashlib.sha256()
            for name, tensor in self.clip.state_dict().items():
                h.update(name.encode())
                h.update(tensor.detach().float().cpu().contiguous().numpy()
                         .tobytes())
            self._digest = h.hexdigest()
        return self._digest

    def _cache_path(self, vocabulary: Vocabulary) -> str:
        h = hashlib.sha256()
        for part in (self.model_name, self._weights_digest(),
                     '\n'.join(self.templates), '\n'.join(
                         '\t'.join(c) for c in vocabulary.classes)):
            h.update(part.encode())
            h.update(b'\0')
        return osp.join(self.cache_dir, h.hexdigest()[:32] + '.pt')

    def embed(self, vocabulary: Vocabulary) -> Tensor:
        """E_t of every synonym of every class: (Ka, T, D), class-major.

        A frozen tower computes this once per vocabulary (memory and disk
        cache), and a new vocabulary encodes only the synonyms no earlier
        one had; a fine-tuned tower recomputes it after every training
        step.
        """
        if vocabulary in self._memory:
            return self._memory[vocabulary]
        path = self._cache_path(vocabulary) \
            if self.frozen and self.cache_dir else None
        if path is not None and osp.isfile(path):
            embeds = torch.load(path, map_location=self.device)
            self._synonyms.update(zip(vocabulary.synonyms, embeds))
        else:
            embeds = self._embed_synonyms(vocabulary)
            if path is not None and is_main_process():
                os.makedirs(self.cache_dir, exist_ok=True)
                tmp = f'{path}.{os.getpid()}.tmp'
                torch.save(embeds.cpu(), tmp)
                os.replace(tmp, path)
        self._memory[vocabulary] = embeds
        return embeds

    def _embed_synonyms(self, vocabulary: Vocabulary) -> Tensor:
        """E_t (Ka, T, D) of ``vocabulary``, encoding only the synonyms that
        no vocabulary brought since the weights last changed."""
        new = [
            s for s in dict.fromkeys(vocabulary.synonyms)
            if s not in self._synonyms
        ]
        if new:
            known = vocabulary.num_synonyms_total - len(new)
            print_log(
                f'encoding {len(new)} synonyms x {len(self.templates)} '
                f'templates of {vocabulary}' +
                (f' ({known} encoded before)' if known else ''),
                logger='current')
            with torch.no_grad():
                encoded = self._encode_distributed(self.sentences(new))
            self._synonyms.update(
                zip(new, encoded.view(len(new), len(self.templates), -1)))
        return torch.stack([self._synonyms[s] for s in vocabulary.synonyms])

    def embed_training_sample(self, vocabulary: Vocabulary,
                              rng: Optional[random.Random] = None) -> Tensor:
        """E_t for one training iteration: (K, T, D), one synonym per class
        drawn uniformly at random (with gradients if fine-tuned)."""
        rng = rng or random
        picks = [rng.randrange(n) for n in vocabulary.num_synonyms]
        if self.frozen:
            offsets = torch.tensor(vocabulary.num_synonyms).cumsum(0) - \
                torch.tensor(vocabulary.num_synonyms)
            index = (offsets + torch.tensor(picks)).to(self.device)
            return self.embed(vocabulary)[index]
        synonyms = [c[p] for c, p in zip(vocabulary.classes, picks)]
        embeds = self.encode_sentences(self.sentences(synonyms))
        return embeds.view(len(vocabulary), len(self.templates), -1)
