# MaskCLIP++ on the toy CLIP (an average-pooling ViT: mask embeddings by
# Eq. 1), loaded from the open_clip state dict the main job pretrains, as a
# downloaded checkpoint is loaded. Vocabularies are the toy world's files.
# Configs using it import mmseg_maskclippp.toy_world (custom_imports), which
# registers the 'toy-world-vit' model config. Every path is read from the
# toy world's base (one place per path).
_base_ = ['./toy_world.py']
clip_checkpoint = _base_.toy_world.clip.checkpoint
model = dict(
    type='MaskCLIPpp',
    backbone=dict(
        type='OpenCLIPVisual',
        model_name='toy-world-vit',
        pretrained=clip_checkpoint,
        # the statistics the toy CLIP is pretrained with (open_clip's
        # default preprocess_cfg, OpenAI CLIP's): a weights file does not
        # say them
        mean=(0.48145466, 0.4578275, 0.40821073),
        std=(0.26862954, 0.26130258, 0.27577711),
        finetune='all'),
    text_encoder=dict(
        type='OpenCLIPTextClassifier',
        model_name='toy-world-vit',
        pretrained=clip_checkpoint,
        # the captions' prompt: 'a photo of a {}.'
        templates='t1',
        cache_dir='work_dirs/toy_world/text_cache'),
    # with one template a randomly started template-axis PSM stalls
    decode_head=dict(type='LinearPSM', width=64, init_as_mean=True),
    train_vocabulary=_base_.data_root + '/seen.txt',
    test_vocabulary=_base_.data_root + '/all.txt',
    mask_generator=dict(type='GTMaskGenerator'),
    data_preprocessor=dict(type='MaskCLIPDataPreProcessor', size_divisor=8))
