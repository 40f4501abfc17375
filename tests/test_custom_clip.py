"""A CLIP of one's own, named by its open_clip model-config file."""
import json

import pytest
import torch
from conftest import make_segmentor

from mmseg_maskclippp.models.utils.open_clip_loader import (
    create_open_clip, register_model_config)

MY_CLIP = dict(
    embed_dim=12,
    vision_cfg=dict(image_size=32, layers=3, width=16, head_width=8,
                    patch_size=8),
    text_cfg=dict(context_length=16, vocab_size=49408, width=16, heads=2,
                  layers=1))


def write_config(folder, name, cfg=MY_CLIP):
    path = folder / f'{name}.json'
    path.write_text(json.dumps(cfg))
    return str(path)


def test_both_towers_use_a_model_config_file(tmp_path):
    path = write_config(tmp_path, 'my-clip-towers')
    segmentor = make_segmentor(path)
    # both towers are the file's CLIP: its embedding size, its width
    assert segmentor.backbone.model_name == 'my-clip-towers'
    assert segmentor.backbone.embed_dims == 12
    assert segmentor.text_encoder.embed_dims == 12
    assert segmentor.text_encoder.model_name == 'my-clip-towers'
    clip = create_open_clip(path)
    assert clip.visual.conv1.out_channels == 16
    assert len(clip.visual.transformer.resblocks) == 3
    with torch.no_grad():
        text = segmentor.text_encoder.encode_sentences(['red', 'green'])
    assert text.shape == (2, 12)


def test_registering_is_idempotent_and_names_are_not_hijacked(tmp_path):
    path = write_config(tmp_path, 'my-clip-same')
    assert register_model_config(path) == 'my-clip-same'
    assert register_model_config(path) == 'my-clip-same'
    other = tmp_path / 'other'
    other.mkdir()
    wider = dict(MY_CLIP, embed_dim=20)
    with pytest.raises(ValueError, match='different model config named '
                       "'my-clip-same'"):
        register_model_config(write_config(other, 'my-clip-same', wider))
    with pytest.raises(ValueError, match='different model config'):
        register_model_config(write_config(other, 'test-vit'))
    assert register_model_config('test-vit') == 'test-vit'


def test_bad_model_config_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.json'):
        register_model_config(str(tmp_path / 'nowhere.json'))
    broken = tmp_path / 'broken.json'
    broken.write_text('{')
    with pytest.raises(ValueError, match='broken.json is not valid JSON'):
        register_model_config(str(broken))
    with pytest.raises(ValueError, match=r"lacks \['text_cfg'\]"):
        register_model_config(write_config(
            tmp_path, 'half', dict(embed_dim=4, vision_cfg={})))
