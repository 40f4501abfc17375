"""Semantic labels without the (K, H, W) score map."""
import pytest
import torch
from conftest import make_segmentor
from mmseg.structures import SegDataSample

from mmseg_maskclippp.models.mask_generators.base import GeneratedMasks
from mmseg_maskclippp.models.postprocessing import (semantic_inference,
                                                    semantic_labels)


@pytest.mark.parametrize('void', [False, True])
@pytest.mark.parametrize('chunk', [1, 97, 1000, 10**6])
def test_chunked_labels_equal_the_argmax_of_the_full_map(void, chunk):
    g = torch.Generator().manual_seed(0)
    num_classes = 13
    scores = torch.rand(9, num_classes + void, generator=g).softmax(-1)
    masks = torch.rand(9, 23, 37, generator=g)
    expected = semantic_inference(scores, masks, num_classes).argmax(0)
    labels = semantic_labels(scores, masks, num_classes, chunk_pixels=chunk)
    assert labels.dtype == torch.long and labels.shape == (23, 37)
    assert torch.equal(labels, expected)


def test_ties_go_to_the_lower_class_and_empty_masks_to_class_zero():
    scores = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8]])
    masks = torch.zeros(2, 2, 3)
    masks[0, 0] = 1  # row 0: tie of classes 0 and 1
    masks[1, 1, 1:] = 1  # row 1: class 2 where mask 1 is on
    labels = semantic_labels(scores, masks, 3, chunk_pixels=2)
    assert labels.tolist() == [[0, 0, 0], [0, 2, 2]]


def test_chunk_must_be_positive():
    with pytest.raises(ValueError, match='chunk_pixels'):
        semantic_labels(torch.ones(1, 2), torch.ones(1, 2, 2), 2, 0)


def test_predict_keeps_the_score_map_only_when_asked(monkeypatch):
    torch.manual_seed(0)
    model = make_segmentor('test-vit').eval()
    soft = torch.rand(6, 32, 64)
    monkeypatch.setattr(
        model, '_generate',
        lambda images, samples: [GeneratedMasks(masks=soft)])
    logits = torch.randn(6, 4) * 5
    monkeypatch.setattr(model, '_classify', lambda images, masks: [logits])
    inputs = torch.rand(1, 3, 32, 64) * 255

    def predict():
        sample = SegDataSample(
            metainfo=dict(img_shape=(32, 64), ori_shape=(48, 96)))
        return model.predict(inputs, [sample])[0]

    lean = predict()
    assert 'seg_logits' not in lean
    model.test_cfg['keep_seg_logits'] = True
    full = predict()
    assert full.seg_logits.data.shape == (4, 48, 96)
    assert torch.equal(lean.pred_sem_seg.data, full.pred_sem_seg.data)
    assert torch.equal(full.pred_sem_seg.data[0],
                       full.seg_logits.data.argmax(0))
    assert len(full.pred_sem_seg.data.unique()) > 1
