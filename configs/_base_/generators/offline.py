# Precomputed masks of any method (FC-CLIP, MAFT+, SAM, ...): one file per
# test image, <mask_dir>/<image stem><suffix>. Formats: label_png,
# panoptic_png, rle_json, npy ('auto' picks one from the suffix). Export
# them with tools/misc/export_offline_masks.py; set mask_dir with
# --cfg-options model.mask_generator.mask_dir=...
mask_generator = dict(
    type='OfflineMaskGenerator',
    mask_dir='data/offline_masks',
    suffix='.json',
    format='auto')
