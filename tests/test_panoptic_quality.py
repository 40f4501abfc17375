"""PQ / SQ / RQ on hand-made COCO panoptic pairs (PNG + JSON written here),
against the definition computed by hand."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmseg_maskclippp.evaluation import (HotcocoPanopticMetric,
                                         build_panoptic_quality_metric)
from mmseg_maskclippp.registry import METRICS

CLASSES = ('person', 'car', 'sky', 'grass')
PERSON, CAR, SKY, GRASS = range(4)
VOID = len(CLASSES)  # the model's "no segment" label
CATEGORIES = [
    dict(id=i + 1, name=n, isthing=int(i < 2), supercategory='x')
    for i, n in enumerate(CLASSES)
]


def thing(label, instance):
    return label + instance * 1000


def write_ground_truth(root):
    """Two images in the COCO panoptic format (segment id = R + 256 G + ...;
    0 unlabelled).

    Image 1 (4 x 8): person 1 (columns 0-1), person 2 (columns 2-3), sky
    (rows 0-1 of columns 4-7), grass (row 2 of columns 4-7), row 3 of
    columns 4-7 unlabelled.
    Image 2 (4 x 4): car (columns 0-1), a person crowd (rows 0-1 of columns
    2-3), sky (rows 2-3 of columns 2-3).
    """
    one = np.zeros((4, 8), np.int64)
    one[:, 0:2] = 1
    one[:, 2:4] = 2
    one[0:2, 4:8] = 3
    one[2, 4:8] = 4
    two = np.zeros((4, 4), np.int64)
    two[:, 0:2] = 5
    two[0:2, 2:4] = 6
    two[2:4, 2:4] = 7
    infos = {
        1: [(1, PERSON, 0), (2, PERSON, 0), (3, SKY, 0), (4, GRASS, 0)],
        2: [(5, CAR, 0), (6, PERSON, 1), (7, SKY, 0)],
    }
    images, annotations = [], []
    for img_id, ids in ((1, one), (2, two)):
        name = f'img_{img_id}'
        rgb = np.stack([ids % 256, ids // 256, ids * 0], -1).astype(np.uint8)
        Image.fromarray(rgb).save(osp.join(root, name + '.png'))
        images.append(
            dict(id=img_id, file_name=name + '.jpg', height=ids.shape[0],
                 width=ids.shape[1]))
        annotations.append(
            dict(image_id=img_id, file_name=name + '.png',
                 segments_info=[
                     dict(id=i, category_id=label + 1, iscrowd=crowd,
                          area=int((ids == i).sum()), bbox=[0, 0, 1, 1])
                     for i, label, crowd in infos[img_id]
                 ]))
    ann_file = osp.join(root, 'panoptic.json')
    with open(ann_file, 'w') as f:
        json.dump(
            dict(images=images, annotations=annotations,
                 categories=CATEGORIES), f)
    return ann_file


def predictions():
    """Model outputs (label + instance * 1000, VOID for no segment).

    Image 1: person a = columns 0-1 + (0, 2): IoU 8 / 9 with person 1;
    person b = column 3: IoU 4 / 8 = 0.5 with person 2, not > 0.5, so a
    false positive and person 2 a false negative; (1..3, 2) void; sky =
    columns 4-7 of rows 0-1 and of the unlabelled row 3: IoU 8 / (12 + 8 -
    8 - 4) = 1; row 2 of columns 4-7 called car: a false positive, grass a
    false negative.
    Image 2: car = rows 0-2 of columns 0-1: IoU 6 / 8; a person on the
    crowd region: ignored; sky = row 3 of columns 0-1 + rows 2-3 of columns
    2-3: IoU 4 / 6.
    """
    one = torch.full((4, 8), VOID)
    one[:, 0:2] = thing(PERSON, 1)
    one[0, 2] = thing(PERSON, 1)
    one[:, 3] = thing(PERSON, 2)
    one[0:2, 4:8] = SKY
    one[3, 4:8] = SKY
    one[2, 4:8] = thing(CAR, 1)
    two = torch.full((4, 4), VOID)
    two[0:3, 0:2] = thing(CAR, 1)
    two[3, 0:2] = SKY
    two[0:2, 2:4] = thing(PERSON, 1)
    two[2:4, 2:4] = SKY
    return [
        dict(img_id=img_id, ori_shape=tuple(pan.shape),
             pred_panoptic_seg=dict(sem_seg=pan[None]))
        for img_id, pan in ((1, one), (2, two))
    ]


def by_hand():
    """Per category (TP, FP, FN, summed IoU) from the docstrings above,
    then SQ = IoU / TP, RQ = TP / (TP + FP / 2 + FN / 2), PQ = SQ * RQ,
    averaged over the categories of each split (all four count)."""
    counts = {
        PERSON: (1, 1, 1, 8 / 9),
        CAR: (1, 1, 0, 6 / 8),
        SKY: (2, 0, 0, 1 + 4 / 6),
        GRASS: (0, 0, 1, 0.0),
    }
    per_class = {}
    for label, (tp, fp, fn, iou) in counts.items():
        sq = iou / tp if tp else 0.0
        rq = tp / (tp + fp / 2 + fn / 2)
        per_class[label] = (sq * rq, sq, rq)
    expected = {}
    for suffix, labels in (('', range(4)), ('_th', (PERSON, CAR)),
                           ('_st', (SKY, GRASS))):
        for i, name in enumerate(('PQ', 'SQ', 'RQ')):
            expected[f'coco_panoptic/{name}{suffix}'] = 100 * np.mean(
                [per_class[label][i] for label in labels])
    return expected


def test_by_hand_numbers():
    """The hand computation itself, in fractions."""
    expected = by_hand()
    assert expected['coco_panoptic/PQ'] == pytest.approx(100 * 4 / 9)
    assert expected['coco_panoptic/SQ'] == pytest.approx(100 * 89 / 144)
    assert expected['coco_panoptic/RQ'] == pytest.approx(100 * 13 / 24)
    assert expected['coco_panoptic/PQ_th'] == pytest.approx(100 * 17 / 36)
    assert expected['coco_panoptic/PQ_st'] == pytest.approx(100 * 5 / 12)


BACKENDS = ['hotcoco', 'panopticapi']


def build(backend, ann_file, seg_prefix):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f'{backend} is not installed')
    kwargs = dict(ann_file=ann_file, seg_prefix=seg_prefix)
    if backend == 'hotcoco':
        metric = HotcocoPanopticMetric(**kwargs)
    else:
        from mmdet.evaluation import CocoPanopticMetric
        metric = build_panoptic_quality_metric(**kwargs)
        assert type(metric) is CocoPanopticMetric
    metric.dataset_meta = dict(classes=CLASSES, thing_classes=CLASSES[:2])
    return metric


@pytest.mark.parametrize('backend', BACKENDS)
def test_pq_sq_rq_are_the_definitions(backend, tmp_path):
    ann_file = write_ground_truth(str(tmp_path))
    metric = build(backend, ann_file, str(tmp_path))
    samples = predictions()
    metric.process({}, samples[:1])
    metric.process({}, samples[1:])
    results = metric.evaluate(2)
    expected = by_hand()
    assert set(expected) <= set(results)
    for key, value in expected.items():
        assert results[key] == pytest.approx(value, abs=1e-6), key


def test_panoptic_quality_metric_without_panopticapi(tmp_path):
    """The configs' PanopticQualityMetric is hotcoco's when panopticapi is
    missing, and names what it cannot read."""
    if importlib.util.find_spec('panopticapi') is not None:
        pytest.skip('panopticapi is installed: mmdet computes PQ')
    ann_file = write_ground_truth(str(tmp_path))
    metric = METRICS.build(
        dict(type='PanopticQualityMetric', ann_file=ann_file,
             seg_prefix=str(tmp_path)))
    assert type(metric) is HotcocoPanopticMetric
    metric.dataset_meta = dict(classes=('person', 'bicycle'))
    with pytest.raises(KeyError, match=r"panoptic.json.*'bicycle'"):
        metric.process({}, predictions()[:1])
    metric.dataset_meta = dict(classes=CLASSES)
    with pytest.raises(KeyError, match='panoptic.json.*image 3'):
        metric.process({}, [dict(predictions()[0], img_id=3)])
    with open(ann_file, 'w') as f:
        json.dump(dict(images=[], categories=[]), f)
    with pytest.raises(KeyError, match="panoptic.json.*'annotations'"):
        HotcocoPanopticMetric(ann_file=ann_file, seg_prefix=str(tmp_path))


def test_classwise_results(tmp_path, monkeypatch):
    """classwise=True logs each category's PQ / SQ / RQ."""
    from mmseg_maskclippp.evaluation.metrics import panoptic_quality
    ann_file = write_ground_truth(str(tmp_path))
    metric = HotcocoPanopticMetric(
        ann_file=ann_file, seg_prefix=str(tmp_path), classwise=True)
    metric.dataset_meta = dict(classes=CLASSES)
    tables = []
    monkeypatch.setattr(panoptic_quality, 'print_panoptic_table',
                        lambda *args, **kwargs: tables.append(args))
    metric.process({}, predictions())
    metric.evaluate(2)
    [(_, classwise)] = tables
    assert list(classwise) == list(CLASSES)
    assert classwise['person']['pq'] == pytest.approx(4 / 9)
    assert classwise['car']['rq'] == pytest.approx(2 / 3)
    assert classwise['sky']['sq'] == pytest.approx(5 / 6)
    assert classwise['grass']['pq'] == 0.0
