"""CLIP-T as a classifier: per-template text embeddings E_t of a vocabulary.

For every class, every synonym and every prompt template one sentence is
encoded and L2-normalised on its own; the template axis is kept (shape
classes-or-synonyms x T x D), because the Linear PSM works on it and the
PseudoText PSM averages it itself.

A frozen text tower encodes a vocabulary once: the result is kept in memory
and on disk, keyed by the model name, a digest of the text weights, the
templates and the sentences, so A-847 is not re-encoded at every start
(``embedding_cache``: a cache file that is not valid is reported and
rebuilt); a new vocabulary encodes only the synonyms that no earlier one
had.
"""
import hashlib
import os
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence, Set, Union

import open_clip
import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_dist_info, is_main_process
from mmengine.logging import print_log
from mmengine.model import BaseModule
from open_clip.transformer import text_global_pool
from torch import Tensor, nn

from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.vocabulary import Vocabulary
from ..utils.open_clip_loader import create_open_clip, register_model_config
from .embedding_cache import cache_file, read_embeddings, write_embeddings
from .truncation import warn_truncated_synonyms

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


#: text fine-tuning scopes, see :func:`is_finetuned`
TEXT_FINETUNE = ('none', 'attention', 'attention+mlp')


def is_finetuned(name: str, finetune: str) -> bool:
    """Whether CLIP-T parameter ``name`` trains under scope ``finetune``.

    ``'attention'`` trains the position embedding and the fused attention
    input-projection weight (q, k, v; not its bias) of every block, the
    selection the paper describes ("the input projections of the attention",
    after CAT-Seg) and the official code makes by name. ``'attention+mlp'``
    adds every block's LayerNorms, MLP and layer scales: the official EVA
    text encoder never freezes a block parameter whose name lacks ``attn``,
    so these train there too, and the paper's numbers were trained so.
    """
    if finetune == 'none':
        return False
    if name.endswith('positional_embedding') or name.endswith(
            '.attn.in_proj_weight'):
        return True
    in_block = '.resblocks.' in name
    return finetune == 'attention+mlp' and in_block and '.attn.' not in name


def _text_tower(clip: nn.Module) -> nn.Module:
    """The module holding the text transformer: ``clip.text`` for
    open_clip's ``CustomTextCLIP``, the model itself for ``CLIP``."""
    text = getattr(clip, 'text', None)
    return clip if text is None else text


def _pooling(tower: nn.Module) -> tuple:
    """(pool type, EOS token id) of a text tower (``CLIP`` prefixes both
    names with ``text_``)."""
    return (getattr(tower, 'pool_type', getattr(tower, 'text_pool_type',
                                                None)),
            getattr(tower, 'eos_id', getattr(tower, 'text_eos_id', None)))


def pooled_token_index(clip: nn.Module, tokens: Tensor) -> Optional[Tensor]:
    """(S,) position of the token that the text tower pools, or None when
    cutting the context after it could change the embedding.

    A cut is exact for open_clip's own text transformer with a causal
    attention mask, pooling the EOT token (``'argmax'``, ``'eos'``) or the
    first one, no class token and no padding mask: the outputs up to the
    pooled position do not depend on anything after it.
    """
    tower = _text_tower(clip)
    pool, eos = _pooling(tower)
    if getattr(tower, 'attn_mask', None) is None \
            or not hasattr(tower, 'token_embedding') \
            or getattr(tower, 'cls_emb', None) is not None \
            or getattr(tower, 'use_pad_mask', False):
        return None
    if pool == 'argmax':
        return tokens.argmax(-1)
    if pool == 'eos':
        return (tokens == eos).int().argmax(-1)
    if pool == 'first':
        return tokens.new_zeros(len(tokens))
    return None


def encode_text_prefix(clip: nn.Module, tokens: Tensor) -> Tensor:
    """``clip.encode_text(tokens, normalize=True)`` for a (S, L) token
    prefix, L <= the context length, of a tower that
    :func:`pooled_token_index` accepts: position embeddings and the causal
    mask are cut to L. open_clip's ``encode_text`` only takes the full
    context."""
    tower = _text_tower(clip)
    length = tokens.shape[1]
    cast_dtype = tower.transformer.get_cast_dtype()
    x = tower.token_embedding(tokens).to(cast_dtype)
    x = x + tower.positional_embedding[:length].to(cast_dtype)
    x = tower.transformer(
        x, attn_mask=tower.attn_mask[:length, :length])
    x = tower.ln_final(x)
    pool, eos = _pooling(tower)
    pooled = text_global_pool(x, tokens, pool, eos_token_id=eos)
    proj = tower.text_projection
    if isinstance(proj, nn.Linear):
        pooled = proj(pooled)
    elif proj is not None:
        pooled = pooled @ proj
    return F.normalize(pooled, dim=-1)


@MODELS.register_module()
class OpenCLIPTextClassifier(BaseModule):
    """Text embeddings of open vocabularies from an open_clip text tower.

    Args:
        model_name: open_clip model config name, or a model-config
            ``.json`` file of your own (the same CLIP as the backbone;
            see :func:`register_model_config`).
        pretrained: open_clip pretrained tag, local file, or None.
        templates: template set name (``'t1'``, ``'t14'``, ``'t80'``), file
            or list.
        finetune: which text parameters train (see :data:`TEXT_FINETUNE`):
            ``'none'`` (frozen, cached), ``'attention'`` (the position
            embedding and the attention input-projection weights of every
            text block: the paper's wording) or ``'attention+mlp'`` (also
            every block's LayerNorms and MLP: what the official EVA text
            encoder trains for the paper's ViT-L / COCO-Stuff row). When
            fine-tuned, embeddings are recomputed at every training
            iteration and never cached on disk.
        cache_dir: disk cache of frozen embeddings; None disables it.
        chunk_size: sentences encoded per forward.
        open_clip_cache_dir: where open_clip keeps downloaded weights.
        clip_model: the open_clip model ``model_name`` already built (with
            ``pretrained`` and ``open_clip_cache_dir``); its text tower is
            used as it is and its visual tower is dropped (see
            :class:`MaskCLIPpp`, which shares one model with CLIP-V).
    """

    def __init__(self,
                 model_name: str,
                 pretrained: Optional[str] = None,
                 templates: Union[str, Sequence[str]] = 't14',
                 finetune: str = 'none',
                 cache_dir: Optional[str] = DEFAULT_CACHE_DIR,
                 chunk_size: int = 512,
                 open_clip_cache_dir: Optional[str] = None,
                 clip_model: Optional[nn.Module] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if finetune not in TEXT_FINETUNE:
            raise ValueError(f'finetune must be one of {TEXT_FINETUNE}, got '
                             f'{finetune!r}')
        model_name = register_model_config(model_name)
        self.model_name = model_name
        self.pretrained = pretrained
        self.finetune = finetune
        self.templates = load_templates(templates)
        self.cache_dir = osp.expanduser(cache_dir) if cache_dir else None
        self.chunk_size = chunk_size
        clip = clip_model if clip_model is not None else \
            create_open_clip(model_name, pretrained, open_clip_cache_dir)
        clip.visual = None
        self.clip = clip
        #: D, the size of the joint image-text embedding space
        self.embed_dims = open_clip.get_model_config(model_name)['embed_dim']
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self._read_logit_scale()
        for name, param in self.clip.named_parameters():
            param.requires_grad = is_finetuned(name, finetune)
        self._memory: Dict[Vocabulary, Tensor] = {}
        #: synonym -> (T, D) embeddings, shared by all vocabularies
        self._synonyms: Dict[str, Tensor] = {}
        self._digest: Optional[str] = None
        self._length_checked: Set[Vocabulary] = set()
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

    def _check_lengths(self, vocabulary: Vocabulary) -> None:
        """Warn, once per vocabulary, about synonyms the tokenizer cuts."""
        if vocabulary not in self._length_checked:
            self._length_checked.add(vocabulary)
            warn_truncated_synonyms(self.tokenizer, self.templates,
                                    vocabulary, self.clip.context_length,
                                    self.model_name)

    def sentences(self, synonyms: Sequence[str]) -> List[str]:
        """Synonym-major, template-minor sentences (S * T)."""
        return [t.format(s) for s in synonyms for t in self.templates]

    def encode_sentences(self, sentences: Sequence[str]) -> Tensor:
        """(S, D) L2-normalised sentence embeddings, in chunks; with
        gradients when the tower is fine-tuned and in training mode.

        With a causal text tower that pools a token of the sentence (the
        EOT token: every CLIP here), sentences are sorted by length and
        each chunk is encoded with its context cut after its longest
        sentence: tokens only attend to earlier ones, so the padding never
        changes the pooled token and is not encoded (see
        :func:`pooled_token_index`). Other towers see the full context.
        """
        if not sentences:
            return torch.zeros(0, self.embed_dims, device=self.device)
        grad = not self.frozen and self.training
        tokens = self.tokenizer(list(sentences)).to(self.device)
        pooled = pooled_token_index(self.clip, tokens)
        order = pooled.argsort() if pooled is not None else \
            torch.arange(len(tokens), device=self.device)
        out = []
        with torch.set_grad_enabled(grad), torch.autocast(
                self.device.type, enabled=False):
            for i in range(0, len(tokens), self.chunk_size):
                index = order[i:i + self.chunk_size]
                if pooled is None:
                    out.append(self.clip.encode_text(tokens[index],
                                                     normalize=True))
                else:
                    length = int(pooled[index].max()) + 1
                    out.append(encode_text_prefix(
                        self.clip, tokens[index, :length]))
        embeds = torch.cat(out)
        return embeds[order.argsort()] if pooled is not None else embeds

    def _encode_distributed(self, sentences: List[str]) -> Tensor:
        """Encode with every rank taking a contiguous share, then gather."""
        rank, world = get_dist_info()
        if world == 1:
            return self.encode_sentences(sentences)
        share = -(-len(sentences) // world)
        mine = self.encode_sentences(sentences[rank * share:(rank + 1) *
                                               share])
        padded = torch.cat(
            [mine, mine.new_zeros(share - len(mine), self.embed_dims)])
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

    def _cache_key(self, vocabulary: Vocabulary) -> str:
        """Hex digest of the model name, the text weights, the templates
        and the vocabulary's synonyms: what the embeddings depend on."""
        h = hashlib.sha256()
        for part in (self.model_name, self._weights_digest(),
                     '\n'.join(self.templates), '\n'.join(
                         '\t'.join(c) for c in vocabulary.classes)):
            h.update(part.encode())
            h.update(b'\0')
        return h.hexdigest()

    def embed(self, vocabulary: Vocabulary) -> Tensor:
        """E_t of every synonym of every class: (Ka, T, D), class-major.

        A frozen tower computes this once per vocabulary (memory and disk
        cache), and a new vocabulary encodes only the synonyms no earlier
        one had; a fine-tuned tower recomputes it after every training
        step.
        """
        if vocabulary in self._memory:
            return self._memory[vocabulary]
        self._check_lengths(vocabulary)
        key = self._cache_key(vocabulary) \
            if self.frozen and self.cache_dir else None
        path = cache_file(self.cache_dir, key) if key else None
        shape = (vocabulary.num_synonyms_total, len(self.templates),
                 self.embed_dims)
        embeds = read_embeddings(path, key, shape) if path else None
        if embeds is not None:
            embeds = embeds.to(self.device)
            self._synonyms.update(zip(vocabulary.synonyms, embeds))
        else:
            embeds = self._embed_synonyms(vocabulary)
            if not torch.isfinite(embeds).all():
                raise ValueError(
                    f'the text tower of {self.model_name!r} gave NaN or '
                    f'infinite embeddings for {vocabulary}: its weights '
                    'are broken')
            if path is not None and is_main_process():
                write_embeddings(path, key, embeds)
        embeds = embeds.to(self.device)
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
        self._check_lengths(vocabulary)
        synonyms = [c[p] for c, p in zip(vocabulary.classes, picks)]
        embeds = self.encode_sentences(self.sentences(synonyms))
        return embeds.view(len(vocabulary), len(self.templates), -1)
