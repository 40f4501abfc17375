"""Eq. 4: the geometric ensemble of CLIP and generator probabilities."""
import math

import pytest
import torch
from conftest import make_segmentor
from mmseg.structures import SegDataSample

from mmseg_maskclippp.models.mask_generators import (BaseMaskGenerator,
                                                     GeneratedMasks)
from mmseg_maskclippp.models.postprocessing import GeometricEnsemble
from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.vocabulary import Vocabulary

# test classes: cat (one-to-one), dog (one-to-many: the generator's 'dog'
# and 'puppy'), sky and heaven (many-to-one: the generator's 'sky,heaven'),
# tree (unseen by the generator); the generator's 'car' matches nothing
TEST = Vocabulary(['cat', 'dog,puppy', 'sky', 'heaven', 'tree'])
GENERATOR = Vocabulary(['cat', 'dog', 'puppy', 'sky,heaven', 'car'])
# probabilities chosen so that softmax(log p) = p exactly
P_CLIP = [0.1, 0.2, 0.3, 0.1, 0.3]
P_GEN = [0.1, 0.2, 0.1, 0.3, 0.1, 0.2]  # void 0.2 last


def logits(probs):
    return torch.tensor([probs], dtype=torch.float64).log()


def test_class_matching():
    ens = GeometricEnsemble(TEST, GENERATOR, gamma=0.5)
    assert ens.matched.tolist() == [True, True, True, True, False]
    assert ens.share.tolist() == [
        [1, 0, 0, 0, 0],
        [0, 1, 0, 0, 0],
        [0, 1, 0, 0, 0],
        [0, 0, 0.5, 0.5, 0],
        [0, 0, 0, 0, 0],
    ]


def test_hand_computed_example():
    # generator without void: 0.1, 0.2, 0.1, 0.3, 0.1 over 0.8
    ps = dict(
        cat=0.1 / 0.8,
        dog=(0.2 + 0.1) / 0.8,
        sky=0.3 / 0.8 / 2,
        heaven=0.3 / 0.8 / 2)
    assert ps == pytest.approx(
        dict(cat=0.125, dog=0.375, sky=0.1875, heaven=0.1875))
    mixed = [
        math.sqrt(0.125 * 0.1),  # cat
        math.sqrt(0.375 * 0.2),  # dog
        math.sqrt(0.1875 * 0.3),  # sky
        math.sqrt(0.1875 * 0.1),  # heaven
        0.3,  # tree: CLIP alone
    ]
    total = sum(mixed)
    void = 0.2
    expected = [m / total * (1 - void) for m in mixed] + [void]
    ens = GeometricEnsemble(TEST, GENERATOR, gamma=0.5)
    out = ens(logits(P_CLIP), logits(P_GEN))
    assert out[0].tolist() == pytest.approx(expected, abs=1e-12)
    assert out.sum().item() == pytest.approx(1.0)


def test_gamma_zero_is_clip_alone():
    ens = GeometricEnsemble(TEST, GENERATOR, gamma=0.0)
    out = ens(logits(P_CLIP), logits(P_GEN))[0]
    assert out.tolist() == pytest.approx([p * 0.8 for p in P_CLIP] + [0.2])


def test_gamma_one_is_generator_on_matched_classes():
    ens = GeometricEnsemble(TEST, GENERATOR, gamma=1.0)
    out = ens(logits(P_CLIP), logits(P_GEN))[0]
    # before renormalisation: P_s on matched classes, P_c on 'tree'
    raw = [0.125, 0.375, 0.1875, 0.1875, 0.3]
    expected = [r / sum(raw) * 0.8 for r in raw] + [0.2]
    assert out.tolist() == pytest.approx(expected)
    # matched classes keep the generator's ratios exactly
    assert (out[1] / out[0]).item() == pytest.approx(3.0)


def test_gamma_out_of_range():
    with pytest.raises(ValueError, match='gamma'):
        GeometricEnsemble(TEST, GENERATOR, gamma=1.5)


# ----------------------------------------------------------------------
# through the segmentor
GEN_LOGITS = torch.tensor([[2.0, 0.0, -1.0, 0.5, 0.0, -1.0],
                           [0.0, 3.0, 1.0, 0.0, 0.0, 1.0]])


@MODELS.register_module(force=True)
class HalvesWithLogitsGenerator(BaseMaskGenerator):
    """Test generator: left and right image halves, fixed class logits over
    the ``GENERATOR`` vocabulary (void last)."""
    vocabulary = GENERATOR

    def forward(self, images, data_samples):
        out = []
        for img in images:
            h, w = img.shape[-2:]
            masks = img.new_zeros(2, h, w)
            masks[0, :, :w // 2] = 1
            masks[1, :, w // 2:] = 1
            out.append(GeneratedMasks(masks=masks, logits=GEN_LOGITS.to(img)))
        return out


def segmentor(ensemble, state=None):
    torch.manual_seed(0)
    seg = make_segmentor(
        'test-convnext',
        vocabulary=TEST,
        mask_generator=dict(type='HalvesWithLogitsGenerator'),
        ensemble=ensemble,
        test_cfg=dict(keep_seg_logits=True))
    if state is not None:
        seg.load_state_dict(state)
    return seg.eval()


def test_segmentor_without_ensemble_uses_clip_probabilities():
    inputs = torch.rand(
        1, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 255
    sample = SegDataSample(
        metainfo=dict(
            img_shape=(64, 64), ori_shape=(64, 64), padding_size=[0, 0, 0, 0]))
    base = segmentor(None)
    results = {
        'none':
        base.predict(inputs, [sample.clone()])[0],
        'gamma0':
        segmentor(dict(gamma=0.0),
                  base.state_dict()).predict(inputs, [sample.clone()])[0],
        'gamma0.5':
        segmentor(dict(gamma=0.5),
                  base.state_dict()).predict(inputs, [sample.clone()])[0],
    }
    # independent path: CLIP logits of the two halves, softmax, void
    masks = base.mask_generator([inputs[0]], [sample])[0].masks
    clip = base.classify_masks(inputs, [masks])[0]
    void = GEN_LOGITS.softmax(-1)[:, -1:]
    scores = clip.softmax(-1) * (1 - void)
    expected = torch.einsum('qk,qhw->khw', scores, masks)
    for key in ('none', 'gamma0'):
        torch.testing.assert_close(results[key].seg_logits.data, expected)
    assert not torch.allclose(
        results['gamma0.5'].seg_logits.data, expected, atol=1e-4)
    # with gamma 0.5 the matched classes move towards the generator
    mixed = GeometricEnsemble(TEST, GENERATOR, 0.5)(clip, GEN_LOGITS)
    torch.testing.assert_close(
        results['gamma0.5'].seg_logits.data,
        torch.einsum('qk,qhw->khw', mixed[:, :-1], masks))
