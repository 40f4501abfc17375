"""Inference on new images: build a segmentor from a config and a
checkpoint, parse vocabularies as users type them, draw predictions."""
from .inference import (MAX_ASPECT_RATIO, MIN_IMAGE_SIDE,
                        CheckpointMismatchError, UnsafeCheckpointError,
                        build_test_pipeline, check_image_size,
                        check_mask_generator, inference_segmentor,
                        init_segmentor, load_generator_config,
                        load_state_dict_strictly, read_checkpoint)
from .segmenter import LegendEntry, Segmentation, Segmenter
from .visualization import (MIN_DISPLAY_SIZE, PredictionVisualizer,
                            class_areas, display_scale, draw_legend,
                            legend_entries, legend_width)
from .vocabulary_spec import parse_vocabulary, vocabulary_from_name

__all__ = [
    'CheckpointMismatchError', 'MAX_ASPECT_RATIO', 'MIN_DISPLAY_SIZE',
    'MIN_IMAGE_SIDE', 'PredictionVisualizer', 'UnsafeCheckpointError',
    'build_test_pipeline', 'check_image_size', 'check_mask_generator',
    'class_areas', 'display_scale', 'draw_legend', 'inference_segmentor',
    'init_segmentor', 'LegendEntry', 'legend_entries', 'legend_width',
    'load_generator_config', 'load_state_dict_strictly', 'parse_vocabulary',
    'read_checkpoint', 'Segmentation', 'Segmenter', 'vocabulary_from_name'
]
