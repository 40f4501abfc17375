"""mmengine's Runner with safe checkpoint loading."""
from mmengine.runner import Runner

from mmseg_maskclippp.registry import RUNNERS
from mmseg_maskclippp.utils.checkpoint import checkpoint_loading


@RUNNERS.register_module()
class MaskCLIPppRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner` whose checkpoint loads
    (``load_from``, ``resume``) are weights-only, with what a Runner
    checkpoint needs allowed (:func:`checkpoint_loading`), and strict: a
    checkpoint with missing, unexpected or wrongly shaped weights is an
    error instead of a logged warning over random weights.

    Configs select it with ``runner_type = 'MaskCLIPppRunner'`` (mmseg's
    ``tools/train.py`` / ``tools/test.py`` and ``mim`` build it then; our
    tools always do). A checkpoint holding anything else is refused unless
    the config sets ``allow_unsafe_pickle = True`` (``--unsafe-load``).
    """

    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: bool = True,
                        revise_keys=((r'^module.', ''), )):
        with checkpoint_loading(
                self.cfg.get('allow_unsafe_pickle', False), filename):
            return super().load_checkpoint(filename, map_location, strict,
                                           revise_keys)


def build_runner(cfg) -> Runner:
    """The config's runner: ``runner_type`` if it names one, else
    :class:`MaskCLIPppRunner` (mmseg's tools would take a plain Runner)."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return MaskCLIPppRunner.from_cfg(cfg)
