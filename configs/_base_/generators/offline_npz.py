# Offline exports that keep the generator's class logits (FC-CLIP, MAFT+,
# or any generator through tools/misc/export_offline_masks.py):
# <mask_dir>/<image stem>.npz, plus <mask_dir>/vocabulary.txt naming the
# classes of the logits (void last in the logits); see
# docs/offline_masks.md. An open-vocabulary generator scores the test
# classes, so export one folder per benchmark and set mask_dir to it.
mask_generator = dict(
    type='OfflineMaskGenerator',
    mask_dir='data/offline_masks',
    suffix='.npz',
    format='npz')
