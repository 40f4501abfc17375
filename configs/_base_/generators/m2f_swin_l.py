# Paper Table 3, "Swin-L Mask2Former": mmdet's COCO-panoptic Mask2Former with
# an ImageNet-21k Swin-L (133 classes + void, 200 queries), frozen, at the
# official generator's input size (short side 800, long side not capped).
# Checkpoint URL from mmdet's metafile.
mask_generator = dict(
    type='Mask2FormerGenerator',
    config='mmdet::mask2former/'
    'mask2former_swin-l-p4-w12-384-in21k_16xb1-lsj-100e_coco-panoptic.py',
    checkpoint='https://download.openmmlab.com/mmdetection/v3.0/mask2former/'
    'mask2former_swin-l-p4-w12-384-in21k_16xb1-lsj-100e_coco-panoptic/'
    'mask2former_swin-l-p4-w12-384-in21k_16xb1-lsj-100e_coco-panoptic_'
    '20220407_104949-82f8d28d.pth',
    vocabulary='coco_panoptic',
    short_side=800)
