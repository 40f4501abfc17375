# The paper's "ideal mask generator" (Fig. 1a): each test image's GT masks,
# one per class present in the semantic label map. Gives mask-classification
# accuracy (MaskAccuracyMetric) next to mIoU. Benchmark leaves set
# ignore_index to their dataset's unlabelled value.
mask_generator = dict(type='GTMaskGenerator', source='semantic',
                      ignore_index=255)
