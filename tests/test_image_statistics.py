"""The image mean / std a CLIP-V normalises with: given, or the pretrained
tag's; the batch padding follows them."""
import warnings

import open_clip
import pytest
import torch

from conftest import make_segmentor
from mmseg_maskclippp.models.backbones import build_open_clip_visual
from mmseg_maskclippp.models.data_preprocessor import (
    CLIP_MEAN_RGB, MaskCLIPDataPreProcessor)
from mmseg_maskclippp.models.utils.open_clip_loader import image_statistics

MEAN = (0.25, 0.5, 0.75)
STD = (0.5, 0.25, 0.125)


@pytest.fixture
def weights_file(tmp_path):
    path = tmp_path / 'my-clip.pt'
    torch.save(open_clip.create_model('test-vit').state_dict(), path)
    return str(path)


def test_given_statistics_normalise_the_input():
    backbone = build_open_clip_visual('test-vit', mean=MEAN, std=STD)
    assert backbone.mean == (63.75, 127.5, 191.25)
    pixel = torch.tensor([51.0, 102.0, 204.0]).view(1, 3, 1, 1)
    # (51 - 63.75) / 127.5, (102 - 127.5) / 63.75, (204 - 191.25) / 31.875
    expected = torch.tensor([-0.1, -0.4, 0.4]).view(1, 3, 1, 1)
    assert torch.allclose(backbone.normalize(pixel), expected, atol=1e-6)


def test_defaults_are_openai_without_a_tag():
    backbone = build_open_clip_visual('test-vit')
    assert backbone.mean == pytest.approx(CLIP_MEAN_RGB)
    assert backbone.std == pytest.approx(
        [255 * s for s in open_clip.OPENAI_DATASET_STD])


def test_pretrained_tag_statistics_are_the_default():
    tag = next(t for t in open_clip.list_pretrained_tags_by_model(
        'ViT-B-16-SigLIP') if 'webli' in t)
    assert image_statistics('ViT-B-16-SigLIP', tag) == dict(
        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert image_statistics('ViT-B-16-SigLIP') == dict(
        mean=open_clip.OPENAI_DATASET_MEAN, std=open_clip.OPENAI_DATASET_STD)


def test_local_file_without_statistics_is_warned_about(weights_file):
    with pytest.warns(UserWarning, match='my-clip.pt are a local file .* '
                      'mean and std .* set backbone.mean and backbone.std'):
        backbone = build_open_clip_visual('test-vit', pretrained=weights_file)
    assert backbone.mean == pytest.approx(CLIP_MEAN_RGB)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        build_open_clip_visual('test-vit', pretrained=weights_file,
                               mean=MEAN, std=STD)


@pytest.mark.parametrize('kwargs, message', [
    (dict(mean=(123.7, 116.3, 103.5)), r'mean .*divide them by 255'),
    (dict(std=(0.2, 0.0, 0.2)), r'std must be 3 RGB values in \(0, 1\]'),
    (dict(mean=(0.5, 0.5)), r'mean must be 3 RGB values'),
    (dict(std=(0.2, float('nan'), 0.2)), 'std must be'),
    (dict(mean=0.5), r'mean must be 3 RGB values .* got \(0.5,\)'),
])
def test_bad_statistics_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_open_clip_visual('test-vit', **kwargs)


def test_batch_padding_follows_the_backbone():
    model = make_segmentor(
        'test-vit', backbone=dict(type='OpenCLIPVisual',
                                  model_name='test-vit', mean=MEAN, std=STD))
    pad = model.data_preprocessor.pad_val.flatten().tolist()
    assert pad == [63.75, 127.5, 191.25]
    out = model.data_preprocessor(
        dict(inputs=[torch.zeros(3, 20, 40, dtype=torch.uint8)]))
    # padded rows are the backbone's mean: 0 after its normalisation
    padded = model.backbone.normalize(out['inputs'])[0, :, 20:, :]
    assert padded.shape[-2] > 0 and padded.abs().max() < 1e-6
    # an explicit padding colour is kept
    fixed = make_segmentor(
        'test-vit', backbone=dict(type='OpenCLIPVisual',
                                  model_name='test-vit', mean=MEAN, std=STD),
        data_preprocessor=dict(type='MaskCLIPDataPreProcessor',
                               size_divisor=32, pad_val=0))
    assert fixed.data_preprocessor.pad_val.flatten().tolist() == [0, 0, 0]
    alone = MaskCLIPDataPreProcessor()
    assert alone.pad_val.flatten().tolist() == pytest.approx(CLIP_MEAN_RGB)
