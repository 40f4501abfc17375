"""What the public entry points accept: finite RGB 0..255 images, finite
masks in [0, 1], any aspect ratio; clear errors naming the values
otherwise, never NaN logits."""
import warnings

import pytest
import torch
from mmseg.structures import SegDataSample

from conftest import make_segmentor
from mmseg_maskclippp.models.utils.resize import resize_short_side


@pytest.fixture(scope='module')
def models():
    torch.manual_seed(0)
    return {}


def model_of(models, family):
    if family not in models:
        models[family] = make_segmentor(
            family, test_cfg=dict(clip_short_side=32)).eval()
    return models[family]


def images_and_masks(seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(2, 3, 32, 48, generator=g) * 255
    masks = [torch.rand(3, 32, 48, generator=g) > 0.5,
             torch.zeros(0, 32, 48)]
    return images, masks


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_pixel_is_an_error_in_every_family(models, family, value):
    model = model_of(models, family)
    images, masks = images_and_masks()
    images[1, 2, 5, 7] = value
    with pytest.raises(ValueError, match='classify_masks: image 1 has 1 NaN '
                       'or infinite values; expected finite RGB'):
        model.classify_masks(images, masks)
    with pytest.raises(ValueError, match='image 1 has 1 NaN'):
        model.predict(images)


@pytest.mark.parametrize('value', [float('nan'), float('inf'), -0.5, 1.5,
                                   255.0])
def test_masks_must_be_finite_and_in_0_1(models, family, value):
    model = model_of(models, family)
    images, masks = images_and_masks()
    bad = masks[0].float()
    bad[1, 3, 4] = value
    with pytest.raises(ValueError, match='classify_masks: the masks of image '
                       r'0 have .*(NaN or infinite|\[0, 1\])'):
        model.classify_masks(images, [bad, masks[1]])


def test_valid_masks_of_every_kind_still_work(models):
    model = model_of(models, 'test-convnext')
    images, masks = images_and_masks()
    expected = model.classify_masks(images, masks)
    for kind in (torch.uint8, torch.float16, torch.long):
        out = model.classify_masks(images, [m.to(kind) for m in masks])
        assert torch.allclose(out[0], expected[0], atol=1e-4)
        assert out[1].shape == (0, 4)
    soft = [masks[0] * 0.5, masks[1]]
    assert torch.isfinite(model.classify_masks(images, soft)[0]).all()


def test_normalised_images_are_an_error_naming_the_range(models):
    model = model_of(models, 'test-vit')
    images, masks = images_and_masks()
    images[0] = images[0] / 255 * 4 - 2
    images[0, 1, 2, :2] = torch.tensor([-2.0, 2.0])
    with pytest.raises(ValueError, match=r'image 0 has values in \[-2, 2\]; '
                       'expected RGB values in 0..255, not normalised'):
        model.classify_masks(images, masks)


def test_images_scaled_to_0_1_are_warned_about(models):
    model = model_of(models, 'test-vit')
    images, masks = images_and_masks()
    images[1] = images[1] / 255
    top = float(images[1].max())
    with pytest.warns(UserWarning, match=rf'image 1 \(max {top:.4g}\) has '
                      r'all values in \[0, 1\].* multiply .* by 255'):
        model.classify_masks(images, masks)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        images[1] = 0  # a black image is a 0..255 image
        model.classify_masks(images, masks)


def test_predict_names_the_file_of_a_bad_image(models):
    model = model_of(models, 'test-vit')
    images, _ = images_and_masks()
    images[0, 0, 0, 0] = float('nan')
    samples = [
        SegDataSample(metainfo=dict(img_shape=(32, 48), ori_shape=(32, 48),
                                    img_path=f'photo{i}.jpg'))
        for i in range(2)
    ]
    with pytest.raises(ValueError, match=r'\(photo0.jpg, photo1.jpg\): '
                       'image 0 has 1 NaN'):
        model.predict(images, samples)


def test_clip_resize_caps_the_long_side_of_extreme_images():
    # the official truncating resize where the cap is not reached
    assert resize_short_side((480, 640), 512, 4096) == (512, 682)
    assert resize_short_side((640, 480), 512, 4096) == (682, 512)
    # 1 x 2048 at short side 512 would be 512 x 1048576
    assert resize_short_side((1, 2048), 512, 4096) == (2, 4096)
    assert resize_short_side((2048, 1), 512, 4096) == (4096, 2)
    assert resize_short_side((1, 8192), 512, 4096) == (1, 4096)


def test_extreme_aspect_ratio_is_classified_at_a_capped_size(monkeypatch):
    model = make_segmentor('test-convnext',
                           test_cfg=dict(clip_short_side=512,
                                         clip_max_long_side=256)).eval()
    seen = []
    original = model.backbone.forward
    monkeypatch.setattr(model.backbone, 'forward',
                        lambda x: seen.append(x.shape) or original(x))
    images = torch.rand(2, 3, 1, 128) * 255
    masks = [torch.ones(2, 1, 128), torch.ones(1, 1, 128)]
    logits = model.classify_masks(images, masks)
    assert seen == [(2, 3, 32, 256)]  # 2 x 256, padded to the stride
    assert all(torch.isfinite(lg).all() for lg in logits)
