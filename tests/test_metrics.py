"""Seen / unseen IoU, mask accuracy and the open-vocabulary COCO metric
against hand computations."""
import numpy as np
import pytest
import torch

from mmseg_maskclippp.evaluation import (MaskAccuracyMetric,
                                         OpenVocabCocoMetric,
                                         OpenVocabIoUMetric)

CLASSES = ('red', 'green', 'blue', 'grey')
TEST_VOCAB = ['red', 'green', 'blue,azure', 'grey']
TRAIN_VOCAB = ['azure', 'red,crimson']  # seen: red, blue (via azure)
SEEN = [True, False, True, False]

GT = torch.tensor([[0, 0, 1], [1, 2, 255]])
PRED = torch.tensor([[0, 1, 1], [2, 2, 0]])


def semantic_sample(pred, gt, seen=None):
    sample = dict(
        pred_sem_seg=dict(data=pred[None]), gt_sem_seg=dict(data=gt[None]))
    if seen is not None:
        sample['seen_classes'] = seen
    return sample


def iou_metric(samples, **kwargs):
    metric = OpenVocabIoUMetric(**kwargs)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_iou_split_by_hand():
    # valid pixels: 5 (one ignored). class 0: I=1 U=2; class 1: I=1 U=3;
    # class 2: I=1 U=2; class 3 ('grey') absent from both -> excluded.
    metrics = iou_metric([semantic_sample(PRED, GT)],
                         train_vocabulary=TRAIN_VOCAB,
                         test_vocabulary=TEST_VOCAB)
    assert metrics['aAcc'] == 60.0
    assert metrics['mIoU'] == pytest.approx(round((0.5 + 1 / 3 + 0.5) / 3 *
                                                  100, 2))
    assert metrics['mIoU(S)'] == 50.0
    assert metrics['mIoU(U)'] == pytest.approx(33.33)
    # accuracy per class: 1/2, 1/2, 1/1
    assert metrics['mAcc'] == pytest.approx(round(2 / 3 * 100, 2))
    assert metrics['mAcc(S)'] == 75.0 and metrics['mAcc(U)'] == 50.0


def test_split_from_the_predictions_equals_the_vocabularies():
    from_vocab = iou_metric([semantic_sample(PRED, GT)],
                            train_vocabulary=TRAIN_VOCAB,
                            test_vocabulary=TEST_VOCAB)
    from_preds = iou_metric([semantic_sample(PRED, GT, SEEN)])
    assert from_vocab == from_preds


def test_perfect_prediction_is_100_on_every_split():
    gt = torch.tensor([[0, 1], [2, 3]])
    metrics = iou_metric([semantic_sample(gt.clone(), gt, SEEN)])
    assert {k: metrics[k] for k in ('mIoU', 'mIoU(S)', 'mIoU(U)', 'aAcc')} \
        == {'mIoU': 100.0, 'mIoU(S)': 100.0, 'mIoU(U)': 100.0, 'aAcc': 100.0}


def test_split_without_present_class_is_not_reported():
    # only seen classes occur; the unseen ones are absent from both maps
    gt = torch.tensor([[0, 2]])
    metrics = iou_metric([semantic_sample(gt.clone(), gt, SEEN)])
    assert metrics['mIoU(S)'] == 100.0
    assert 'mIoU(U)' not in metrics
    assert all(not np.isnan(v) for v in metrics.values())


def test_no_split_without_training_vocabulary():
    metrics = iou_metric([semantic_sample(PRED, GT)])
    assert 'mIoU(S)' not in metrics and 'mIoU' in metrics


def test_nothing_evaluated_is_an_error():
    gt = torch.full((2, 2), 255)
    with pytest.raises(ValueError, match='no class was evaluated'):
        iou_metric([semantic_sample(torch.zeros(2, 2).long(), gt, SEEN)])


def test_vocabulary_of_another_size_is_an_error():
    with pytest.raises(ValueError, match='has 3 classes but the dataset has'):
        iou_metric([semantic_sample(PRED, GT)],
                   train_vocabulary=TRAIN_VOCAB,
                   test_vocabulary=TEST_VOCAB[:3])
    with pytest.raises(ValueError, match='predicts 3 classes'):
        iou_metric([semantic_sample(PRED, GT, SEEN[:3])])


def test_images_disagreeing_on_the_split_is_an_error():
    with pytest.raises(ValueError, match='disagree'):
        iou_metric([
            semantic_sample(PRED, GT, SEEN),
            semantic_sample(PRED, GT, [True] * 4)
        ])


def mask_samples(pred, gt, seen=SEEN):
    return [
        dict(
            pred_mask_labels=dict(
                pred=torch.tensor(pred), gt=torch.tensor(gt)),
            seen_classes=seen)
    ]


def mask_metric(samples, **kwargs):
    metric = MaskAccuracyMetric(**kwargs)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_mask_accuracy_by_hand():
    # class 0: 1 of 2 right, class 1: 1 of 1, class 2: 0 of 1, class 3: none
    metrics = mask_metric(mask_samples([0, 1, 1, 0], [0, 0, 1, 2]))
    assert metrics == {
        'MaskAcc': 50.0,
        'mMaskAcc': 50.0,
        'mMaskAcc(S)': 25.0,
        'mMaskAcc(U)': 100.0
    }


def test_mask_accuracy_perfect_and_checked_labels():
    metrics = mask_metric(mask_samples([0, 1, 2, 3], [0, 1, 2, 3]))
    assert set(metrics.values()) == {100.0}
    with pytest.raises(ValueError, match='gt mask label 4'):
        mask_metric(mask_samples([0], [4]))
    with pytest.raises(KeyError, match='GTMaskGenerator'):
        mask_metric([dict(img_path='x.jpg')])


def test_coco_metric_maps_vocabulary_labels_to_dataset_classes():
    metric = OpenVocabCocoMetric(
        test_vocabulary=['wall', 'bed,cot', 'sky', 'person'], metric='segm')
    metric.dataset_meta = dict(classes=('bed', 'person'))
    masks = torch.zeros(3, 4, 4, dtype=torch.bool)
    masks[:, :2, :2] = True
    sample = dict(
        img_id=0,
        ori_shape=(4, 4),
        instances=[],
        pred_instances=dict(
            labels=torch.tensor([1, 0, 3]),
            scores=torch.tensor([0.9, 0.8, 0.7]),
            bboxes=torch.zeros(3, 4),
            masks=masks))
    metric.process({}, [sample])
    _, result = metric.results[0]
    assert result['labels'].tolist() == [0, 1]  # 'wall' dropped
    assert result['scores'].tolist() == pytest.approx([0.9, 0.7])
    assert sample['pred_instances']['labels'].tolist() == [1, 0, 3]
    # the dataset names a class differently: give its classes by our names
    renamed = OpenVocabCocoMetric(
        test_vocabulary=['wall', 'bed,cot', 'sky', 'person'],
        dataset_classes=['bed', 'person'], metric='segm')
    renamed.dataset_meta = dict(classes=('cot', 'individual'))
    renamed.process({}, [sample])
    assert renamed.results[0][1]['labels'].tolist() == [0, 1]
    metric = OpenVocabCocoMetric(
        test_vocabulary=['wall', 'bed,cot', 'sky', 'person'], metric='segm')
    metric.dataset_meta = dict(classes=('bed', 'table'))
    with pytest.raises(ValueError, match="'table'"):
        metric.process({}, [sample])


def test_segmentor_predictions_carry_the_seen_split():
    """MaskCLIPpp writes ``seen_classes``; both metrics read it."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from conftest import make_segmentor
    model = make_segmentor(
        'test-vit', vocabulary=TRAIN_VOCAB, test_vocabulary=TEST_VOCAB).eval()
    gt = torch.tensor([[0, 0, 1, 1], [2, 2, 3, 3]]).repeat_interleave(8, 0)
    gt = gt.repeat_interleave(8, 1)
    sample = SegDataSample(metainfo=dict(img_shape=(16, 32),
                                         ori_shape=(16, 32)))
    sample.gt_sem_seg = PixelData(data=gt[None])
    data = model.data_preprocessor(
        dict(inputs=[torch.randint(0, 256, (3, 16, 32), dtype=torch.uint8)],
             data_samples=[sample]), False)
    [pred] = model.predict(**data)
    assert pred.seen_classes == SEEN
    iou = OpenVocabIoUMetric()
    accuracy = MaskAccuracyMetric()
    for metric in (iou, accuracy):
        metric.dataset_meta = dict(classes=CLASSES)
        metric.process({}, [pred.to_dict()])
    assert {'mIoU(S)', 'mIoU(U)'} <= set(iou.evaluate(1))
    assert {'mMaskAcc(S)', 'mMaskAcc(U)'} <= set(accuracy.evaluate(1))
