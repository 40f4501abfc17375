"""ConvNeXt in channels-last memory format: same features, same gradients."""
import torch

from mmseg_maskclippp.registry import MODELS


def test_channels_last_convnext_gives_the_same_features_and_gradients():
    outs, grads = [], []
    for channels_last in (False, True):
        torch.manual_seed(0)
        backbone = MODELS.build(
            dict(type='OpenCLIPVisual', model_name='test-convnext',
                 channels_last=channels_last))
        x = torch.randn(2, 3, 64, 64, generator=torch.Generator()
                        .manual_seed(1))
        feats = backbone(x)
        feats[-1].square().sum().backward()
        outs.append(feats)
        grads.append(backbone.clip.trunk.stem[0].weight.grad)
    assert outs[1][-1].is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grads[0], grads[1], atol=1e-4, rtol=1e-4)
