"""Keep the predicted label maps of chosen test images, for the figure.

Scores come from the project's metrics (``OpenVocabIoUMetric``,
``MaskAccuracyMetric``) configured as the test evaluator; this hook only
keeps what the figure draws.
"""
import os.path as osp
from typing import Dict, Sequence

import numpy as np
from mmengine.hooks import Hook


class PredictionRecorder(Hook):
    """Keep the (H, W) predicted label maps of the test images whose file
    names are in ``keep``, in :attr:`kept` (file name -> map)."""

    priority = 'LOW'

    def __init__(self, keep: Sequence[str] = ()):
        self.keep = set(keep)
        self.kept: Dict[str, np.ndarray] = {}

    def before_test(self, runner) -> None:
        self.kept = {}

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        for sample in outputs:
            name = osp.basename(sample.img_path)
            if name in self.keep:
                self.kept[name] = \
                    sample.pred_sem_seg.data.squeeze(0).cpu().numpy()
