"""CLIP-T encodes sentences sorted by length, without the padding."""
import pytest
import torch

from mmseg_maskclippp.models.text import OpenCLIPTextClassifier
from mmseg_maskclippp.models.text import text_classifier

SENTENCES = [
    'a photo of a red thing.',
    'sky',
    'a very large and somewhat blurry photo of the old wooden boat.',
    'a tree',
    'there is a lime in the scene, next to a navy blue chair',
    '',
    'a photo of a grey cat.',
]


def padded_reference(encoder, sentences):
    """open_clip's own encode_text over the full context."""
    tokens = encoder.tokenizer(sentences)
    with torch.no_grad():
        return encoder.clip.encode_text(tokens, normalize=True)


# test-vit: open_clip CLIP; test-eva: CustomTextCLIP with a TextTransformer
@pytest.mark.parametrize('model_name', ['test-vit', 'test-eva'])
def test_sentences_sorted_by_length_skip_the_padding(model_name,
                                                     monkeypatch):
    torch.manual_seed(0)
    encoder = OpenCLIPTextClassifier(model_name, cache_dir=None,
                                     chunk_size=3)
    lengths = []
    prefix = text_classifier.encode_text_prefix

    def spy(clip, tokens):
        lengths.append(tokens.shape[1])
        return prefix(clip, tokens)

    monkeypatch.setattr(text_classifier, 'encode_text_prefix', spy)
    with torch.no_grad():
        embeds = encoder.encode_sentences(SENTENCES)
    context = encoder.tokenizer(['x']).shape[1]
    # three chunks, shortest first, none of them the full context
    assert len(lengths) == 3 and lengths == sorted(lengths)
    assert max(lengths) < context
    # the same embeddings, in the order of the sentences
    torch.testing.assert_close(embeds,
                               padded_reference(encoder, SENTENCES),
                               atol=1e-6, rtol=1e-5)


def test_a_tower_without_causal_mask_sees_the_full_context(monkeypatch):
    torch.manual_seed(0)
    encoder = OpenCLIPTextClassifier('test-vit', cache_dir=None,
                                     chunk_size=4)
    encoder.clip.attn_mask = None  # bidirectional: padding matters
    monkeypatch.setattr(text_classifier, 'encode_text_prefix', None)
    with torch.no_grad():
        embeds = encoder.encode_sentences(SENTENCES)
    torch.testing.assert_close(embeds,
                               padded_reference(encoder, SENTENCES))


def test_gradients_reach_a_fine_tuned_tower_through_the_prefix():
    torch.manual_seed(0)
    encoder = OpenCLIPTextClassifier('test-vit', cache_dir=None,
                                     finetune='attention', chunk_size=2)
    encoder.train()
    embeds = encoder.encode_sentences(SENTENCES[:4])
    embeds.sum().backward()
    grads = [p.grad for p in encoder.clip.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
