"""The disk cache of text embeddings: a bad file is named and rebuilt,
never used; files are read without pickle; concurrent writers are safe;
synonyms the tokenizer cuts are named."""
import os
import re
import threading
import warnings

import open_clip
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from mmseg_maskclippp import Vocabulary
from mmseg_maskclippp.models.text import OpenCLIPTextClassifier
from mmseg_maskclippp.models.text.embedding_cache import (read_embeddings,
                                                          write_embeddings)

VOCAB = Vocabulary(['red', 'green,lime', 'blue,azure,navy'])
TEMPLATES = ['a photo of a {}.', 'a {} thing']


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    torch.manual_seed(7)
    path = tmp_path_factory.mktemp('clip') / 'clip.pt'
    torch.save(open_clip.create_model('test-convnext').state_dict(), path)
    return str(path)


def build(weights, cache_dir, **kwargs):
    return OpenCLIPTextClassifier('test-convnext', pretrained=weights,
                                  templates=TEMPLATES,
                                  cache_dir=str(cache_dir), **kwargs)


class RunsCode:
    """A pickle that creates a file when it is loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def corrupt(path, how, tmp_path):
    """Damage the cache file at ``path``; returns the reason expected."""
    with safe_open(path, framework='pt') as f:
        key = f.metadata()['key']
        embeds = f.get_tensor('embeds')
    data = open(path, 'rb').read()
    if how == 'truncated':
        open(path, 'wb').write(data[:len(data) // 2])
        return 'cannot be read'
    if how == 'garbage':
        open(path, 'wb').write(b'\x07garbage' * 50)
        return 'cannot be read'
    if how == 'pickle':
        torch.save(RunsCode(str(tmp_path / 'pwned')), path)
        return 'cannot be read'
    bad = dict(embeds=embeds)
    metadata = dict(key=key)
    reason = {
        'wrong shape': r'shape \(4, 2, 24\), expected \(6, 2, 24\)',
        'nan': '1 of its values are NaN or infinite',
        'not normalised': 'not L2-normalised',
        'float16': 'torch.float16, not float32',
        'other key': 'its key does not match',
        'extra tensor': r"tensors \['embeds', 'more'\]",
    }[how]
    if how == 'wrong shape':
        bad['embeds'] = embeds[:4].clone()
    elif how == 'nan':
        bad['embeds'] = embeds.clone()
        bad['embeds'][2, 1, 5] = float('nan')
    elif how == 'not normalised':
        bad['embeds'] = embeds * 2
    elif how == 'float16':
        bad['embeds'] = embeds.half()
    elif how == 'other key':
        metadata['key'] = '0' * 64
    else:
        bad['more'] = torch.zeros(1)
    save_file(bad, path, metadata=metadata)
    return reason


@pytest.mark.parametrize('how', [
    'truncated', 'garbage', 'pickle', 'wrong shape', 'nan', 'not normalised',
    'float16', 'other key', 'extra tensor'
])
def test_bad_cache_file_is_named_and_rebuilt(weights, tmp_path, how,
                                             monkeypatch):
    cache = tmp_path / 'cache'
    first = build(weights, cache).embed(VOCAB)
    [name] = os.listdir(cache)
    path = str(cache / name)
    reason = corrupt(path, how, tmp_path)

    with pytest.warns(UserWarning, match=re.escape(
            f'text embedding cache {path} is not valid: ') + f'.*{reason}'):
        again = build(weights, cache).embed(VOCAB)
    assert torch.allclose(again, first, atol=1e-6)
    assert not (tmp_path / 'pwned').exists()  # no pickle was run

    # the entry was replaced by a valid one: read without encoding
    monkeypatch.setattr(OpenCLIPTextClassifier, 'encode_sentences',
                        lambda *args: pytest.fail('encoded again'))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert torch.equal(build(weights, cache).embed(VOCAB), again)
    assert os.listdir(cache) == [name]


def test_non_finite_text_embeddings_are_an_error(weights, tmp_path,
                                                 monkeypatch):
    text = build(weights, tmp_path / 'cache')
    monkeypatch.setattr(
        OpenCLIPTextClassifier, 'encode_sentences',
        lambda self, s: torch.full((len(s), 24), float('nan')))
    with pytest.raises(ValueError, match="'test-convnext' gave NaN"):
        text.embed(VOCAB)
    assert not (tmp_path / 'cache').exists()


def test_concurrent_writers_leave_one_valid_file(tmp_path):
    embeds = torch.nn.functional.normalize(torch.randn(6, 2, 24), dim=-1)
    path = str(tmp_path / 'cache' / 'entry.safetensors')
    threads = [
        threading.Thread(target=write_embeddings, args=(path, 'k', embeds))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert os.listdir(tmp_path / 'cache') == ['entry.safetensors']
    assert torch.equal(read_embeddings(path, 'k', (6, 2, 24)), embeds)


def test_unwritable_cache_is_a_warning(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('not a folder')
    with pytest.warns(UserWarning, match='could not write the text '
                      'embedding cache'):
        write_embeddings(str(blocker / 'entry.safetensors'), 'k',
                         torch.zeros(1, 1, 1))


def test_synonyms_longer_than_the_context_are_named(weights, tmp_path):
    text = build(weights, tmp_path / 'cache')
    long = ' '.join(['word'] * 30)  # the tiny CLIPs' context is 24 tokens
    vocab = Vocabulary(['sky', f'tree,{long}', 'car'], source='mine')
    with pytest.warns(UserWarning) as record:
        text.embed(vocab)
    [warning] = [w for w in record if 'context' in str(w.message)]
    assert str(warning.message).startswith(
        "mine: 1 synonym(s) are longer than the 24-token text context of "
        "'test-convnext' in the template 'a photo of a {}.'")
    assert f"{long!r} (class 1, 'tree'): 37 tokens" in str(warning.message)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        text.embed(Vocabulary([' '.join(['word'] * 17)]))  # 17 + 5 + 2
