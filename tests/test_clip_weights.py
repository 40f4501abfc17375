"""CLIP weights: open_clip tags, local files, random init, and their errors."""
import open_clip
import pytest
import torch

from mmseg_maskclippp.models.backbones import build_open_clip_visual
from mmseg_maskclippp.models.text import OpenCLIPTextClassifier
from mmseg_maskclippp.models.utils.open_clip_loader import create_open_clip


@pytest.fixture
def weights_file(tmp_path):
    """An open_clip state dict of the tiny ViT, saved like a download."""
    torch.manual_seed(123)
    model = open_clip.create_model('test-vit')
    path = tmp_path / 'test-vit.pt'
    torch.save(model.state_dict(), path)
    return str(path), model


def test_local_state_dict_loads_into_backbone_and_text(weights_file):
    path, model = weights_file
    backbone = build_open_clip_visual('test-vit', pretrained=path)
    for key, value in model.visual.state_dict().items():
        assert torch.equal(backbone.clip.state_dict()[key], value), key
    text = OpenCLIPTextClassifier('test-vit', pretrained=path,
                                  cache_dir=None)
    assert torch.equal(text.clip.token_embedding.weight,
                       model.token_embedding.weight)


def test_checkpoint_holding_a_state_dict_loads(weights_file, tmp_path):
    _, model = weights_file
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': model.state_dict(), 'epoch': 3}, path)
    backbone = build_open_clip_visual('test-vit', pretrained=str(path))
    assert torch.equal(backbone.clip.positional_embedding,
                       model.visual.positional_embedding)


def test_missing_file_names_model_and_path(tmp_path):
    missing = str(tmp_path / 'nope.safetensors')
    with pytest.raises(FileNotFoundError, match="'test-vit'.*nope"):
        create_open_clip('test-vit', missing)


def test_weights_of_another_model_do_not_fit(weights_file):
    path, _ = weights_file
    with pytest.raises(RuntimeError, match="do not fit open_clip model "
                       "'test-eva'"):
        create_open_clip('test-eva', path)


def test_unknown_tag_lists_known_tags_and_the_local_file_way():
    with pytest.raises(ValueError) as err:
        create_open_clip('RN50', 'not-a-tag')
    text = str(err.value)
    assert "'not-a-tag'" in text and "'RN50'" in text
    assert 'openai' in text and 'pretrained=' in text


def test_unknown_model():
    with pytest.raises(ValueError, match='unknown open_clip model'):
        create_open_clip('no-such-clip')


def test_unreachable_hub_says_how_to_use_a_local_file(monkeypatch):
    calls = []

    def offline(*args, **kwargs):
        calls.append(kwargs)
        raise ConnectionError('network is unreachable')

    monkeypatch.setattr(open_clip, 'create_model', offline)
    with pytest.raises(RuntimeError) as err:
        create_open_clip('RN50', 'openai')
    assert calls and calls[0]['pretrained'] == 'openai'
    text = str(err.value)
    assert "'openai'" in text and "'RN50'" in text
    assert 'ConnectionError' in text and "pretrained='/path/to" in text


def test_random_init_builds_without_weights():
    model = create_open_clip('test-convnext')
    assert isinstance(model, torch.nn.Module)
