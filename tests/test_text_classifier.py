"""CLIP-T: per-template text embeddings, synonyms, the disk cache."""
import math
import os
import random

import open_clip
import pytest
import torch

from mmseg_maskclippp import Vocabulary
from mmseg_maskclippp.models.text import (OpenCLIPTextClassifier,
                                          load_templates)

VOCAB = Vocabulary(['red', 'green,lime', 'blue,azure,navy'])
TEMPLATES = ['a photo of a {}.', 'a {} thing']


@pytest.fixture
def weights(tmp_path):
    torch.manual_seed(7)
    model = open_clip.create_model('test-convnext')
    path = tmp_path / 'clip.pt'
    torch.save(model.state_dict(), path)
    return str(path), model


def build(path, tmp_path, **kwargs):
    kwargs.setdefault('templates', TEMPLATES)
    kwargs.setdefault('cache_dir', str(tmp_path / 'cache'))
    return OpenCLIPTextClassifier('test-convnext', pretrained=path, **kwargs)


def test_templates_by_name_and_validation():
    assert len(load_templates('t1')) == 1
    assert len(load_templates('t14')) == 14
    assert len(load_templates('t80')) == 80
    assert load_templates('t14')[1] == 'This is a photo of a {}'
    with pytest.raises(ValueError, match='t14'):
        load_templates('t15')
    with pytest.raises(ValueError, match='once'):
        load_templates(['no placeholder'])


def test_embeddings_are_per_sentence_clip_text_embeddings(weights, tmp_path):
    path, model = weights
    text = build(path, tmp_path)
    embeds = text.embed(VOCAB)
    assert embeds.shape == (6, 2, 24)  # (Ka, T, D), class-major
    assert torch.allclose(embeds.norm(dim=-1), torch.ones(6, 2), atol=1e-5)
    tokenizer = open_clip.get_tokenizer('test-convnext')
    # synonym 4 is 'azure' (class 2); template 1
    expected = model.encode_text(tokenizer(['a azure thing']),
                                 normalize=True)[0]
    assert torch.allclose(embeds[4, 1], expected, atol=1e-5)


def test_logit_scale_is_clip_constant_capped_at_100(weights, tmp_path):
    path, model = weights
    assert build(path, tmp_path).logit_scale == pytest.approx(
        min(math.exp(model.logit_scale.item()), 100))
    state = model.state_dict()
    state['logit_scale'] = torch.tensor(10.0)  # exp(10) > 100
    large = tmp_path / 'large.pt'
    torch.save(state, large)
    assert build(str(large), tmp_path).logit_scale == 100


def test_training_sample_takes_one_synonym_per_class(weights, tmp_path):
    path, _ = weights
    text = build(path, tmp_path)
    full = text.embed(VOCAB)
    seen = set()
    rng = random.Random(0)
    for _ in range(30):
        sample = text.embed_training_sample(VOCAB, rng)
        assert sample.shape == (3, 2, 24)
        picks = []
        for k, start in enumerate([0, 1, 3]):
            options = full[start:start + VOCAB.num_synonyms[k]]
            match = [torch.equal(sample[k], o) for o in options]
            assert sum(match) == 1
            picks.append(match.index(True))
        seen.add(tuple(picks))
    assert len(seen) > 1  # random, not always the first synonym


def test_disk_cache_hit_and_invalidation(weights, tmp_path, monkeypatch):
    path, model = weights
    first = build(path, tmp_path).embed(VOCAB)
    files = os.listdir(tmp_path / 'cache')
    assert len(files) == 1

    calls = []
    original = OpenCLIPTextClassifier.encode_sentences

    def counting(self, sentences):
        calls.append(len(sentences))
        return original(self, sentences)

    monkeypatch.setattr(OpenCLIPTextClassifier, 'encode_sentences', counting)
    again = build(path, tmp_path).embed(VOCAB)
    assert calls == [] and torch.equal(first, again)  # second build: a hit

    build(path, tmp_path).embed(Vocabulary(['red', 'green']))  # new names
    assert calls == [4]
    build(path, tmp_path, templates=['{}']).embed(VOCAB)  # new templates
    assert calls == [4, 6]
    other = tmp_path / 'other.pt'
    state = model.state_dict()
    state['token_embedding.weight'] = state['token_embedding.weight'] + 1
    torch.save(state, other)
    changed = build(str(other), tmp_path).embed(VOCAB)  # new weights
    assert calls == [4, 6, 12] and not torch.allclose(changed, first)
    assert len(os.listdir(tmp_path / 'cache')) == 4


def test_loading_other_weights_drops_memory_cache(weights, tmp_path):
    path, _ = weights
    text = build(path, tmp_path, cache_dir=None)
    before = text.embed(VOCAB)
    state = text.state_dict()
    state['clip.text_projection'] = state['clip.text_projection'] * 2 + 1
    text.load_state_dict(state)
    assert not torch.allclose(text.embed(VOCAB), before)


def test_finetuned_text_tower(weights, tmp_path):
    path, _ = weights
    text = build(path, tmp_path, finetune='attention')
    trainable = {n for n, p in text.named_parameters() if p.requires_grad}
    assert trainable and all(
        n.endswith('positional_embedding') or '.attn.in_proj_' in n
        for n in trainable)
    text.train()
    sample = text.embed_training_sample(VOCAB)
    sample.sum().backward()
    assert text.clip.positional_embedding.grad is not None
    # recomputed every call, with gradients; never written to disk
    assert not (tmp_path / 'cache').exists()
    text.eval()
    cached = text.embed(VOCAB)
    assert text.embed(VOCAB) is cached  # kept for evaluation ...
    text.train()
    text.eval()
    assert text.embed(VOCAB) is not cached  # ... until training resumes


def test_a_new_vocabulary_encodes_only_its_new_synonyms(weights, tmp_path,
                                                        monkeypatch):
    path, _ = weights
    text = build(path, tmp_path)
    encode = text.encode_sentences
    encoded = []
    monkeypatch.setattr(text, 'encode_sentences',
                        lambda s: encoded.append(list(s)) or encode(s))
    first = text.embed(VOCAB)
    second = text.embed(Vocabulary(['navy blue', 'green,lime', 'red']))
    assert encoded == [text.sentences(VOCAB.synonyms),
                       text.sentences(['navy blue'])]
    assert torch.equal(second[1:3], first[1:3])  # 'green', 'lime'
    assert torch.equal(second[3], first[0])  # 'red'
    # the same values as encoding the whole vocabulary at once
    fresh = build(path, tmp_path, cache_dir=None).embed(
        Vocabulary(['navy blue', 'green,lime', 'red']))
    assert torch.allclose(second, fresh, atol=1e-6)
