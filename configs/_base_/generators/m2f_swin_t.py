# Paper Table 3, "Swin-T Mask2Former": mmdet's COCO-panoptic Mask2Former
# (133 classes + void, 100 queries), frozen, at the official generator's
# input size (short side 800, long side not capped). Checkpoint URL from
# mmdet's metafile.
mask_generator = dict(
    type='Mask2FormerGenerator',
    config='mmdet::mask2former/'
    'mask2former_swin-t-p4-w7-224_8xb2-lsj-50e_coco-panoptic.py',
    checkpoint='https://download.openmmlab.com/mmdetection/v3.0/mask2former/'
    'mask2former_swin-t-p4-w7-224_8xb2-lsj-50e_coco-panoptic/'
    'mask2former_swin-t-p4-w7-224_8xb2-lsj-50e_coco-panoptic_'
    '20220326_224553-3ec9e0ae.pth',
    vocabulary='coco_panoptic',
    short_side=800)
