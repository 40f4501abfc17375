"""PSM heads (consistency alignment) and the reweighted loss."""
import pytest
import torch
import torch.nn.functional as F

from mmseg_maskclippp.models.decode_heads import (LinearMaskEmbeddingPSM,
                                                  LinearPSM,
                                                  LinearTextEmbeddingPSM,
                                                  MeanTemplatePSM,
                                                  PseudoTextPSM)
from mmseg_maskclippp.models.losses import (ReweightedCrossEntropyLoss,
                                            mask_loss_weights)

D, T = 16, 3


@pytest.fixture
def inputs():
    g = torch.Generator().manual_seed(0)
    masks = F.normalize(torch.randn(5, D, generator=g), dim=-1)
    text = F.normalize(torch.randn(4, T, D, generator=g), dim=-1)
    corrs = torch.einsum('nd,ktd->nkt', masks, text)
    patches = torch.randn(2, D, 3, 3, generator=g)
    return dict(corrs=corrs, mask_embeds=masks, text_embeds=text,
                num_masks=[3, 2], patch_embeds=patches, logit_scale=50.0)


def test_linear_psm_acts_on_the_template_axis_only(inputs):
    psm = LinearPSM(D, T, width=8)
    out = psm(**inputs)
    assert out.shape == (5, 4)
    # an affine map of each (mask, class) template vector, nothing else
    w = psm.reduce.weight @ psm.expand.weight
    b = psm.reduce.weight @ psm.expand.bias + psm.reduce.bias
    expected = (inputs['corrs'] * 50.0) @ w[0] + b
    assert torch.allclose(out, expected, atol=1e-5)


def test_linear_psm_started_as_the_template_mean(inputs):
    psm = LinearPSM(D, T, width=8, init_as_mean=True)
    assert torch.allclose(psm(**inputs), MeanTemplatePSM(D, T)(**inputs),
                          atol=1e-4)


def test_linear_psm_checks_template_count(inputs):
    with pytest.raises(ValueError, match='4 templates'):
        LinearPSM(D, 4)(**inputs)


def _reference(psm, inputs, dtype=torch.float64):
    """The two layers over the (N, Ka, T) similarities, in ``dtype``."""
    ref = LinearPSM(D, T, width=psm.expand.out_features,
                    use_logit_scale=psm.use_logit_scale,
                    fold_inference=False).to(dtype).eval()
    ref.load_state_dict(psm.state_dict())
    args = {k: v.to(dtype) if torch.is_tensor(v) and v.is_floating_point()
            else v for k, v in inputs.items()}
    with torch.no_grad():
        return ref(**args)


@pytest.mark.parametrize('use_logit_scale', [True, False])
def test_linear_psm_folded_inference_equals_the_two_layers(
        inputs, use_logit_scale):
    torch.manual_seed(0)
    psm = LinearPSM(D, T, width=8, use_logit_scale=use_logit_scale).eval()
    assert not psm.needs_similarities
    # the folded path never reads the similarities
    folded = psm(**dict(inputs, corrs=None))
    expected = _reference(psm, inputs)
    assert folded.dtype == torch.float32
    torch.testing.assert_close(folded.double(), expected, atol=5e-5,
                               rtol=1e-5)
    psm.fold_inference = False
    assert psm.needs_similarities
    torch.testing.assert_close(psm(**inputs).double(), expected, atol=5e-5,
                               rtol=1e-5)


def test_linear_psm_folded_in_half_precision(inputs):
    torch.manual_seed(0)
    psm = LinearPSM(D, T, width=8).eval()
    half = {k: v.half() if torch.is_tensor(v) else v
            for k, v in dict(inputs, corrs=None).items()}
    folded = psm(**half)
    assert folded.dtype == torch.float16
    expected = _reference(psm, inputs)
    # fp16 rounding of logits of magnitude ~logit_scale
    torch.testing.assert_close(folded.double(), expected, atol=0.05,
                               rtol=2e-3)


def test_linear_psm_trains_the_two_layers_and_the_fold_follows(inputs):
    torch.manual_seed(0)
    psm = LinearPSM(D, T, width=8)
    assert psm.needs_similarities  # training: the official two layers
    with pytest.raises(ValueError, match='similarities'):
        psm(**dict(inputs, corrs=None))
    before = psm.eval()(**dict(inputs, corrs=None))
    psm.train()
    opt = torch.optim.SGD(psm.parameters(), lr=0.1)
    psm(**inputs).sum().backward()
    opt.step()
    after = psm.eval()(**dict(inputs, corrs=None))
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after.double(), _reference(psm, inputs),
                               atol=5e-5, rtol=1e-5)
    # loading other weights is seen at the next forward too
    other = LinearPSM(D, T, width=8)
    psm.load_state_dict(other.state_dict())
    torch.testing.assert_close(
        psm(**dict(inputs, corrs=None)).double(),
        _reference(other, inputs), atol=5e-5, rtol=1e-5)


def test_mean_template_psm_is_plain_clip(inputs):
    psm = MeanTemplatePSM(D, T)
    assert not psm.needs_similarities
    out = psm(**dict(inputs, corrs=None))
    torch.testing.assert_close(out, inputs['corrs'].mean(-1) * 50.0,
                               atol=5e-5, rtol=1e-5)


@pytest.mark.parametrize('cls', [LinearMaskEmbeddingPSM,
                                 LinearTextEmbeddingPSM])
def test_embedding_updates_started_as_identity_are_clip(cls, inputs):
    psm = cls(D, T, init_identity=True)
    text = F.normalize(inputs['text_embeds'].mean(1), dim=-1)
    expected = 50.0 * inputs['mask_embeds'] @ text.t()
    assert torch.allclose(psm(**inputs), expected, atol=1e-5)


@pytest.mark.parametrize('cls', [LinearMaskEmbeddingPSM,
                                 LinearTextEmbeddingPSM])
def test_embedding_updates_start_like_the_paper_ablation(cls, inputs):
    """By default the map is a freshly initialised nn.Linear (the paper's
    ablation): its similarity is not CLIP's, so it breaks consistency
    alignment from the first step."""
    torch.manual_seed(0)
    psm = cls(D, T)
    torch.manual_seed(0)
    fresh = torch.nn.Linear(D, D)
    assert torch.equal(psm.update.weight, fresh.weight)
    assert torch.equal(psm.update.bias, fresh.bias)
    text = F.normalize(inputs['text_embeds'].mean(1), dim=-1)
    clip = inputs['mask_embeds'] @ text.t()
    out = psm(**inputs) / 50.0
    if cls is LinearMaskEmbeddingPSM:
        masks, text = fresh(inputs['mask_embeds']), text
    else:
        masks, text = inputs['mask_embeds'], fresh(text)
    expected = F.normalize(masks, dim=-1) @ F.normalize(text, dim=-1).t()
    assert torch.allclose(out, expected, atol=1e-6)
    assert not torch.allclose(out, clip, atol=0.1)


def test_pseudo_text_psm_by_hand(inputs):
    psm = PseudoTextPSM(D, T, num_heads=2).eval()
    out = psm(**inputs)
    assert out.shape == (5, 4)
    patches = F.normalize(
        inputs['patch_embeds'].flatten(2).transpose(1, 2), dim=-1)
    patches = psm.patch_proj(patches)
    text = F.normalize(inputs['text_embeds'].mean(1), dim=-1)
    for b, rows in ((0, slice(0, 3)), (1, slice(3, 5))):
        attended = psm.attention(text[None], patches[b:b + 1],
                                 patches[b:b + 1])[0][0]
        pseudo = psm.norm(text + attended)
        assert torch.allclose(out[rows],
                              inputs['mask_embeds'][rows] @ pseudo.t(),
                              atol=1e-5)
    # without the residual E_t the logits change (paper Table 1 ablation)
    ablation = PseudoTextPSM(D, T, num_heads=2, text_residual=False).eval()
    ablation.load_state_dict(psm.state_dict())
    assert not torch.allclose(ablation(**inputs), out)


def _pseudo_text_reference(psm, inputs):
    """The attention module as it is (the training parametrisation)."""
    fold = psm.fold_inference
    psm.fold_inference = False
    try:
        with torch.no_grad():
            return psm(**inputs)
    finally:
        psm.fold_inference = fold


@pytest.mark.parametrize('text_residual', [True, False])
def test_pseudo_text_psm_folded_inference_equals_the_attention_module(
        inputs, text_residual):
    torch.manual_seed(0)
    psm = PseudoTextPSM(D, T, num_heads=2,
                        text_residual=text_residual).eval()
    with torch.no_grad():
        folded = psm(**inputs)
    expected = _pseudo_text_reference(psm, inputs)
    # (the reference path is checked by hand in the test above)
    torch.testing.assert_close(folded, expected, atol=1e-5, rtol=1e-5)


def test_pseudo_text_psm_kept_query_follows_text_and_weights(inputs):
    """The query of the vocabulary is kept between calls, never stale: a
    training step, load_state_dict, another vocabulary and an in-place
    change of the text are all seen at the next call."""
    torch.manual_seed(0)
    psm = PseudoTextPSM(D, T, num_heads=2).eval()

    def check():
        with torch.no_grad():
            out = psm(**inputs)
        torch.testing.assert_close(out, _pseudo_text_reference(psm, inputs),
                                   atol=1e-5, rtol=1e-5)
        return out

    before = check()
    psm.train()
    opt = torch.optim.AdamW(psm.parameters(), lr=0.1, fused=True)
    psm(**inputs).sum().backward()
    opt.step()
    psm.eval()
    after_step = check()
    assert not torch.allclose(before, after_step, atol=1e-3)

    other = PseudoTextPSM(D, T, num_heads=2)
    psm.load_state_dict(other.state_dict())
    loaded = check()
    assert not torch.allclose(after_step, loaded, atol=1e-3)

    inputs['text_embeds'] = inputs['text_embeds'].flip(0)
    new_vocabulary = check()
    assert not torch.allclose(loaded, new_vocabulary, atol=1e-3)
    inputs['text_embeds'].mul_(-1)
    changed_in_place = check()
    assert not torch.allclose(new_vocabulary, changed_in_place, atol=1e-3)


def test_pseudo_text_psm_folded_under_autocast(inputs):
    torch.manual_seed(0)
    psm = PseudoTextPSM(D, T, num_heads=2).eval()
    expected = _pseudo_text_reference(psm, inputs)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        folded = psm(**inputs)
    assert folded.dtype == torch.bfloat16
    # bf16 rounding (8 bits of mantissa) of logits of magnitude ~sqrt(D)
    torch.testing.assert_close(folded.float(), expected, atol=0.1,
                               rtol=0.02)


def test_pseudo_text_psm_needs_patches(inputs):
    inputs['patch_embeds'] = None
    with pytest.raises(ValueError, match='patch_embeds'):
        PseudoTextPSM(D, T, num_heads=2)(**inputs)


# ---------------------------------------------------------------------------
def test_loss_weights_by_hand():
    # image 0: classes {1: 2 masks, 4: 1 mask}; image 2: {1: 1 mask};
    # image 1 has no mask, so B' = 2
    labels = torch.tensor([1, 4, 1, 1])
    img_idx = torch.tensor([0, 0, 0, 2])
    w = mask_loss_weights(labels, img_idx)
    expected = torch.tensor([1 / (2 * 2 * 2), 1 / (2 * 2 * 1),
                             1 / (2 * 2 * 2), 1 / (2 * 1 * 1)])
    assert torch.allclose(w, expected)
    assert torch.isclose(w.sum(), torch.tensor(1.0))
    plain = mask_loss_weights(labels, img_idx, balance_classes=False)
    assert torch.allclose(plain, torch.tensor([1 / 6, 1 / 6, 1 / 6, 1 / 2]))


def test_loss_is_weighted_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 5, generator=g)
    labels = torch.tensor([1, 4, 1, 1])
    img_idx = torch.tensor([0, 0, 0, 2])
    loss = ReweightedCrossEntropyLoss()(logits, labels, img_idx)
    ce = F.cross_entropy(logits, labels, reduction='none')
    expected = (mask_loss_weights(labels, img_idx) * ce).sum()
    assert torch.isclose(loss, expected)


def test_loss_drops_vanished_masks_when_asked():
    logits = torch.randn(3, 2, requires_grad=True)
    labels = torch.tensor([0, 1, 1])
    img_idx = torch.tensor([0, 0, 1])
    areas = torch.tensor([2.0, 0.0, 1.0])
    loss = ReweightedCrossEntropyLoss(ignore_empty_masks=True)(
        logits, labels, img_idx, areas)
    kept = ReweightedCrossEntropyLoss()(logits[[0, 2]], labels[[0, 2]],
                                        img_idx[[0, 2]])
    assert torch.isclose(loss, kept)
    none = ReweightedCrossEntropyLoss(ignore_empty_masks=True)(
        logits, labels, img_idx, torch.zeros(3))
    assert none.item() == 0 and none.requires_grad


def test_loss_rejects_labels_outside_the_vocabulary():
    with pytest.raises(ValueError, match=r'\[0, 2\)'):
        ReweightedCrossEntropyLoss()(
            torch.randn(1, 2), torch.tensor([2]), torch.tensor([0]))
