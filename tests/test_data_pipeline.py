"""GT masks as training targets, packing and batching."""
import numpy as np
import pytest
import torch
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from mmseg_maskclippp.datasets.transforms import (GenerateGTMasks,
                                                  PackMaskCLIPInputs)
from mmseg_maskclippp.models import MaskCLIPDataPreProcessor
from mmseg_maskclippp.models.data_preprocessor import CLIP_MEAN_RGB


def test_semantic_masks_one_per_class_present():
    seg = np.array([[3, 3, 255], [0, 3, 0]], dtype=np.uint8)
    out = GenerateGTMasks()(dict(gt_seg_map=seg))
    assert out['gt_mask_labels'].tolist() == [0, 3]
    assert out['gt_masks'].dtype == bool
    assert out['gt_masks'][0].tolist() == [[False, False, False],
                                           [True, False, True]]
    assert out['gt_masks'][1].tolist() == [[True, True, False],
                                           [False, True, False]]


def test_crop_without_labels_gives_zero_masks():
    out = GenerateGTMasks()(dict(gt_seg_map=np.full((4, 5), 255, np.uint8)))
    assert out['gt_masks'].shape == (0, 4, 5)
    assert out['gt_mask_labels'].shape == (0, )


def test_semantic_label_outside_vocabulary_names_the_file():
    seg = np.array([[171]], dtype=np.uint8)
    with pytest.raises(ValueError, match='a.png: label 171'):
        GenerateGTMasks(num_classes=171)(
            dict(gt_seg_map=seg, seg_map_path='a.png'))


def test_more_than_255_classes_refuse_a_uint8_label_map():
    transform = GenerateGTMasks(num_classes=300)
    seg = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError,
                       match='x.png: the label map is uint8 but there are 300 '
                       'classes.*LoadUInt16Annotations'):
        transform(dict(gt_seg_map=seg, seg_map_path='x.png'))
    out = transform(dict(gt_seg_map=seg.astype(np.uint16) + 256,
                         seg_map_path='x.png'))
    assert out['gt_mask_labels'].tolist() == [256]
    # 255 classes and fewer fit in uint8 beside the ignore index
    assert GenerateGTMasks(num_classes=255)(
        dict(gt_seg_map=seg + 254))['gt_mask_labels'].tolist() == [254]


def test_panoptic_masks_are_non_crowd_things_then_stuff_classes():
    masks = np.zeros((3, 4, 4), np.uint8)
    masks[0, :2], masks[1, 2:], masks[2, :, :1] = 1, 1, 1
    seg = np.full((4, 4), 255, np.uint8)
    seg[:, 3], seg[0, 2], seg[3, 1] = 90, 100, 5  # stuff 90, 100; a thing
    out = GenerateGTMasks(source='panoptic', num_things=80)(
        dict(
            gt_masks=BitmapMasks(masks, 4, 4),
            gt_bboxes_labels=np.array([5, 70, 5]),
            gt_ignore_flags=np.array([False, False, True]),
            gt_seg_map=seg))
    assert out['gt_mask_labels'].tolist() == [5, 70, 90, 100]
    assert np.array_equal(out['gt_masks'][:2], masks[:2].astype(bool))
    assert np.array_equal(out['gt_masks'][2], seg == 90)
    assert np.array_equal(out['gt_masks'][3], seg == 100)


def test_coco_panoptic_loads_without_panopticapi(tmp_path):
    """A COCO panoptic image through the loader: two person instances, the
    wall region, no crowd segment; segment ids that use all three PNG
    channels decode as R + 256 G + 256^2 B."""
    from mmdet.datasets import CocoPanopticDataset

    from data_fixtures import write_coco_panoptic
    from mmseg_maskclippp.datasets.transforms.panoptic_loading import rgb2id
    root = write_coco_panoptic(str(tmp_path), num=1, size=(8, 16))
    dataset = CocoPanopticDataset(
        data_root=root,
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/',
                         seg='annotations/panoptic_train2017/'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadCocoPanopticAnnotations', with_seg=True),
            dict(type='GenerateGTMasks', source='panoptic', num_things=80,
                 num_classes=133)
        ])
    out = dataset[0]
    wall = CocoPanopticDataset.METAINFO['classes'].index('wall-other-merged')
    assert out['gt_mask_labels'].tolist() == [0, 0, wall]
    columns = [np.flatnonzero(m.any(0)).tolist() for m in out['gt_masks']]
    assert columns == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    rgb = np.array([[[1, 2, 3], [0, 0, 0]]], np.uint8)
    assert rgb2id(rgb).tolist() == [[1 + 2 * 256 + 3 * 65536, 0]]


def test_missing_annotations_say_what_to_add():
    with pytest.raises(KeyError, match='LoadAnnotations'):
        GenerateGTMasks()(dict())
    with pytest.raises(KeyError, match='LoadCocoPanopticAnnotations'):
        GenerateGTMasks(source='panoptic', num_things=80)(dict())
    with pytest.raises(ValueError, match='num_things'):
        GenerateGTMasks(source='panoptic')


def test_pack_puts_masks_in_gt_instances():
    seg = np.array([[1, 2], [2, 2]], dtype=np.uint8)
    results = GenerateGTMasks()(
        dict(img=np.zeros((2, 2, 3), np.uint8), gt_seg_map=seg,
             img_shape=(2, 2), ori_shape=(2, 2)))
    packed = PackMaskCLIPInputs()(results)
    sample = packed['data_samples']
    assert sample.gt_instances.labels.tolist() == [1, 2]
    assert sample.gt_instances.masks.dtype == torch.bool
    assert sample.gt_sem_seg.data.shape == (1, 2, 2)
    assert packed['inputs'].shape == (3, 2, 2)


def sample(h, w, labels):
    s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
    seg = torch.zeros(1, h, w, dtype=torch.long)
    s.gt_sem_seg = PixelData(data=seg)
    s.gt_instances = InstanceData(
        masks=torch.ones(len(labels), h, w, dtype=torch.bool),
        labels=torch.tensor(labels, dtype=torch.long))
    return s


def test_preprocessor_pads_images_masks_and_maps():
    pre = MaskCLIPDataPreProcessor(size_divisor=32)
    bgr = torch.zeros(3, 40, 20, dtype=torch.uint8)
    bgr[0] = 10  # blue channel in BGR order
    data = dict(inputs=[bgr, torch.zeros(3, 20, 33, dtype=torch.uint8)],
                data_samples=[sample(40, 20, [1, 2]), sample(20, 33, [])])
    out = pre(data, training=True)
    x = out['inputs']
    assert x.shape == (2, 3, 64, 64)
    assert x[0, 2, 0, 0] == 10 and x[0, 0, 0, 0] == 0  # BGR -> RGB
    # padding is CLIP's mean colour (0 after CLIP normalisation)
    assert torch.allclose(x[0, :, 63, 63], torch.tensor(CLIP_MEAN_RGB))
    s0, s1 = out['data_samples']
    assert s0.gt_instances.masks.shape == (2, 64, 64)
    assert s0.gt_instances.masks[:, :40, :20].all()
    assert not s0.gt_instances.masks[:, 40:].any()
    assert s1.gt_instances.masks.shape == (0, 64, 64)
    assert s0.gt_sem_seg.data[0, 63, 63] == 255
    assert s0.padding_size == (0, 44, 0, 24)


def test_preprocessor_rejects_bad_images():
    pre = MaskCLIPDataPreProcessor()
    with pytest.raises(ValueError, match=r'image 0 .* \(1, 4, 4\)'):
        pre(dict(inputs=[torch.zeros(1, 4, 4)]))
