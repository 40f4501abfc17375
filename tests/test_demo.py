"""The demo: vocabularies as typed, strict checkpoints, drawings with a
legend, the CLI end to end on generated images, and MMSegInferencer."""
import copy
import logging
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from crafted_checkpoint import write_crafted
from data_fixtures import write_demo_model
from mmseg_maskclippp import Vocabulary
from mmseg_maskclippp.apis import (MIN_DISPLAY_SIZE, CheckpointMismatchError,
                                   UnsafeCheckpointError, build_test_pipeline,
                                   display_scale, draw_legend,
                                   inference_segmentor, init_segmentor,
                                   legend_entries, legend_width,
                                   parse_vocabulary)
from mmseg_maskclippp.registry import MODELS
from mmseg_maskclippp.utils import checkpoint_loading

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))

import demo as demo_tool  # noqa: E402

TEST_CLASSES = ['sky', 'tree,trees', 'car', 'road', 'grass']


# ----------------------------------------------------------------------
# vocabularies as typed
def test_benchmark_names_in_any_spelling():
    assert parse_vocabulary(vocabulary='coco-stuff') == Vocabulary.build(
        'coco_stuff')
    assert parse_vocabulary(vocabulary='ADE150') == Vocabulary.build(
        'ade150')
    joined = parse_vocabulary(vocabulary='ade150+voc20')
    assert joined == Vocabulary.concat(
        [Vocabulary.build('ade150'), Vocabulary.build('voc20')])
    assert len(Vocabulary.build('ade150')) < len(joined) < 150 + 20


def test_typed_classes_come_first_and_files_work(tmp_path):
    path = str(tmp_path / 'mine+yours.txt')
    Vocabulary(['zebra crossing', 'sky']).to_file(path)
    vocab = parse_vocabulary('red car|sky,clouds', path)
    assert vocab.names == ['red car', 'sky', 'zebra crossing']
    assert vocab.classes[1] == ('sky', 'clouds')


@pytest.mark.parametrize('classes, vocabulary, message', [
    ('', None, 'is empty'),
    ('   ', None, 'is empty'),
    ('sky| |tree', None, 'class 1 .* empty after stripping'),
    ('sky,|tree', None, 'empty class name or synonym'),
    ('tree|sky| tree', None, "'tree' is used by class 0 and class 2"),
    (None, None, '--classes'),
    (None, 'ade151', 'ade150.*pc59'),
    (None, 'ade150++voc20', 'empty vocabulary name'),
])
def test_bad_vocabularies_are_named(classes, vocabulary, message):
    with pytest.raises(ValueError, match=message):
        parse_vocabulary(classes, vocabulary)


def test_palette_follows_the_name_not_the_position():
    a = Vocabulary(['sky', 'tree', 'car'])
    b = Vocabulary(['car', 'road', 'sky'])
    assert a.palette[0] == b.palette[2] and a.palette[2] == b.palette[0]
    assert len(set(a.palette)) == 3
    assert all(0 <= c <= 255 for colour in a.palette for c in colour)


# ----------------------------------------------------------------------
# legend
def _semantic(labels):
    return SegDataSample(
        pred_sem_seg=PixelData(data=torch.as_tensor(labels)[None]))


def test_legend_entries_semantic_by_area():
    labels = np.zeros((4, 5), np.int64)
    labels[:, 2:] = 3
    labels[0, 0] = 1
    assert legend_entries(_semantic(labels), 'semantic', 5) == [3, 0, 1]


def test_legend_entries_panoptic_and_instance():
    ids = torch.full((4, 4), 6)  # unassigned (6 classes)
    ids[0] = 2 + 1 * 1000
    ids[1] = 2 + 2 * 1000
    ids[2, :3] = 5
    sample = SegDataSample(pred_panoptic_seg=PixelData(sem_seg=ids[None]))
    assert legend_entries(sample, 'panoptic', 6) == [2, 5]

    masks = torch.zeros(3, 4, 4, dtype=torch.bool)
    masks[0, :2] = True
    masks[1, :1] = True
    masks[2] = True
    sample = SegDataSample(
        pred_instances=InstanceData(
            masks=masks, labels=torch.tensor([4, 1, 0]),
            scores=torch.tensor([0.9, 0.5, 0.2])))
    assert legend_entries(sample, 'instance', 6, score_thr=0.3) == [4, 1]
    assert legend_entries(sample, 'instance', 6, score_thr=0.0) == [0, 4, 1]


def test_legend_panel_lists_exactly_the_given_colours():
    image = np.zeros((60, 40, 3), np.uint8)
    names = ['sky', 'a rather long class name', 'car']
    colours = [(250, 10, 10), (10, 250, 10), (10, 10, 250)]
    out = draw_legend(image, names, colours)
    assert out.shape == (60, 40 + legend_width(names, 60), 3)
    assert np.array_equal(out[:, :40], image)
    panel = out[:, 40:].reshape(-1, 3)
    for colour in colours:
        assert (panel == colour).all(1).sum() >= 4
    # an image too short for one column wraps into more columns
    assert legend_width(names, 12) == 3 * legend_width(names, 60)
    assert draw_legend(image, [], []) is image


# ----------------------------------------------------------------------
# a tiny model, its config and checkpoint, generated images
@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return write_demo_model(tmp_path_factory.mktemp('demo'), TEST_CLASSES)


def _run(setup, out_dir, *extra, inputs=None, config=None):
    argv = (inputs or [setup['images']]) + [
        config or setup['config'], setup['checkpoint'], '--out-dir',
        str(out_dir), '--device', 'cpu'
    ] + list(extra)
    return demo_tool.main(argv)


def test_cli_writes_a_drawing_per_image_with_its_legend(setup, tmp_path):
    out = tmp_path / 'out'
    results = _run(setup, out, '--generator', 'felzenszwalb',
                   '--save-label')
    assert [osp.basename(r['image']) for r in results] == ['a.png', 'b.png']
    vocab = Vocabulary.from_file(str(out / 'vocabulary.txt'))
    assert vocab == Vocabulary(TEST_CLASSES)
    for result in results:
        image = mmcv.imread(result['image'])
        h, w = image.shape[:2]
        s = display_scale(h, w)  # small images are drawn enlarged
        drawing = mmcv.imread(result['output'])
        assert drawing.shape == (s * h, s * w + legend_width(
            result['legend'], s * h), 3)
        enlarged = image.repeat(s, 0).repeat(s, 1)
        assert not np.array_equal(drawing[:, :s * w], enlarged)  # masks
        labels = mmcv.imread(
            result['output'][:-4] + '_label.png', flag='unchanged')
        assert labels.shape == (h, w)
        values, counts = np.unique(labels, return_counts=True)
        # exactly the classes of the label map, by decreasing area
        assert sorted(result['legend']) == sorted(
            vocab.names[v] for v in values)
        assert result['legend'][0] == vocab.names[values[counts.argmax()]]


def test_changing_the_vocabulary_changes_the_classes(setup, tmp_path):
    first = _run(setup, tmp_path / 'one', '--generator', 'felzenszwalb',
                 '--classes', 'dog|cat,kitten|boat')
    second = _run(setup, tmp_path / 'two', '--generator', 'felzenszwalb',
                  '--vocabulary', 'voc20')
    names_one = {n for r in first for n in r['legend']}
    names_two = {n for r in second for n in r['legend']}
    assert names_one and names_one <= {'dog', 'cat', 'boat'}
    assert names_two and names_two <= set(Vocabulary.build('voc20').names)
    assert names_one != names_two


def test_cli_panoptic_and_instance(setup, tmp_path):
    loose = ['--cfg-options', 'model.test_cfg.object_mask_threshold=0.0',
             'model.test_cfg.overlap_threshold=0.0']
    image = osp.join(setup['images'], 'a.png')
    panoptic = _run(setup, tmp_path / 'pan', '--task', 'panoptic',
                    '--save-label', *loose, inputs=[image],
                    config=setup['felzenszwalb_config'])[0]
    bgr = mmcv.imread(
        panoptic['output'][:-4] + '_panoptic.png').astype(np.int64)
    ids = bgr[..., 2] + 256 * bgr[..., 1] + 65536 * bgr[..., 0]
    ids = ids[ids != len(TEST_CLASSES)]
    assert len(ids)
    assert sorted(panoptic['legend']) == sorted(
        Vocabulary(TEST_CLASSES).names[v] for v in np.unique(ids % 1000))
    instance = _run(setup, tmp_path / 'ins', '--task', 'instance',
                    '--score-thr', '0', inputs=[image],
                    config=setup['felzenszwalb_config'])[0]
    assert instance['legend']
    assert mmcv.imread(instance['output']).shape[0] == \
        48 * display_scale(48, 64)


def test_small_images_are_drawn_enlarged_to_the_display_size(
        setup, tmp_path):
    image = osp.join(setup['images'], 'a.png')  # 48 x 64
    args = ['--generator', 'felzenszwalb', '--save-label']
    drawn = _run(setup, tmp_path / 'big', *args, inputs=[image])[0]
    drawing = mmcv.imread(drawn['output'])
    assert display_scale(48, 64) == 6 and MIN_DISPLAY_SIZE == 256
    assert drawing.shape[0] == 6 * 48 >= MIN_DISPLAY_SIZE
    # the label map stays at the image's size
    assert mmcv.imread(drawn['output'][:-4] + '_label.png',
                       flag='unchanged').shape == (48, 64)
    # the masks are enlarged with the image: a 6 x 6 block per pixel
    # away from the class names (the widest region's centre row is text)
    left = drawing[:6 * 48, :6 * 64]
    corner = left[:6, :6].reshape(-1, 3)
    assert (corner == corner[0]).all()
    small = _run(setup, tmp_path / 'small', *args, '--min-display-size',
                 '0', inputs=[image])[0]
    assert mmcv.imread(small['output']).shape[0] == 48
    assert small['legend'] == drawn['legend']


def _state(setup):
    with checkpoint_loading():
        return torch.load(setup['checkpoint'])['state_dict']


def test_images_at_the_size_limits_and_an_empty_panoptic_are_drawn(
        setup, tmp_path):
    images = []
    for h, w in [(16, 256), (256, 16), (16, 16)]:
        path = str(tmp_path / f'limit_{h}x{w}.png')
        mmcv.imwrite(
            np.random.default_rng(h).integers(0, 256, (h, w, 3), np.uint8),
            path)
        images.append(path)
    # a threshold no mask reaches: every pixel is void, nothing to draw
    results = _run(setup, tmp_path / 'out', '--task', 'panoptic',
                   '--save-label', '--min-display-size', '0', '--cfg-options',
                   'model.test_cfg.object_mask_threshold=1.0',
                   inputs=images, config=setup['felzenszwalb_config'])
    for result in results:
        assert result['legend'] == []
        drawing = mmcv.imread(result['output'])
        assert np.array_equal(drawing, mmcv.imread(result['image']))


def _bad_checkpoint(setup):
    state = _state(setup)
    dropped = sorted(state)[3]
    del state[dropped]
    state['decode_head.surplus'] = torch.zeros(1)
    path = str(setup['root'] / 'bad.pth')
    torch.save({'state_dict': state}, path)
    return path, dropped


@pytest.mark.parametrize('case', [
    'unreadable image', 'empty vocabulary', 'blank class', 'duplicate',
    'bad checkpoint', 'ground-truth generator', 'unknown generator',
    'unknown vocabulary', 'folder without images', 'two outputs of one name',
    'crafted checkpoint', 'line break in a class', '1 x 2000 image',
    '2000 x 1 image', '1 x 1 image'
])
def test_bad_input_exits_with_a_message_and_writes_nothing(
        setup, tmp_path, case):
    out = tmp_path / 'out'
    inputs, extra = [setup['images']], ['--generator', 'felzenszwalb']
    checkpoint = setup['checkpoint']
    if case == 'unreadable image':
        broken = tmp_path / 'broken.jpg'
        broken.write_bytes(b'not an image at all')
        inputs, message = [setup['images'], str(broken)], str(broken)
    elif case == 'empty vocabulary':
        extra += ['--classes', ' ']
        message = 'is empty'
    elif case == 'blank class':
        extra += ['--classes', 'sky|  |tree']
        message = 'class 1 .* is empty after stripping'
    elif case == 'duplicate':
        extra += ['--classes', 'sky|tree|sky']
        message = "'sky' is used by class 0 and class 2"
    elif case == 'bad checkpoint':
        checkpoint, dropped = _bad_checkpoint(setup)
        message = f'missing keys \\(1\\): {dropped};.*' \
            'unexpected keys \\(1\\): decode_head.surplus'
    elif case == 'ground-truth generator':
        extra, message = [], 'GTMaskGenerator.*felzenszwalb'
    elif case == 'unknown generator':
        extra, message = ['--generator', 'sam'], "'sam' .*felzenszwalb"
    elif case == 'folder without images':
        (tmp_path / 'empty').mkdir()
        inputs, message = [str(tmp_path / 'empty')], 'empty: no images'
    elif case == 'two outputs of one name':
        inputs += [osp.join(setup['images'], 'a.png')]
        message = 'would both be written as a.png'
    elif case == 'crafted checkpoint':
        marker = str(tmp_path / 'ran')
        checkpoint = write_crafted(
            str(tmp_path / 'crafted.pth'), marker,
            {'state_dict': _state(setup)})
        message = 'crafted.pth: refused to load.*makedirs.*--unsafe-load'
    elif case == 'line break in a class':
        extra += ['--classes', 'sky\ntree|car']
        message = r"'sky\\ntree' contains the control character"
    elif case.endswith(' image'):
        h, w = (int(n) for n in case.split()[:3:2])
        thin = str(tmp_path / 'thin.png')
        mmcv.imwrite(np.full((h, w, 3), 90, np.uint8), thin)
        # good images come first: none of them may be written either
        inputs = [setup['images'], thin]
        message = f'thin.png: the image is {h} x {w} pixels; .* at least 16'
    else:
        extra += ['--vocabulary', 'ade848']
        message = "'ade848' is neither a benchmark vocabulary .*ade847"
    argv = inputs + [setup['config'], checkpoint, '--out-dir', str(out),
                     '--device', 'cpu'] + extra
    with pytest.raises(SystemExit) as error:
        demo_tool.main(argv)
    assert error.value.code not in (0, None)
    assert re.search(message, str(error.value.code)), error.value.code
    assert not out.exists()
    assert not (tmp_path / 'ran').exists()


@pytest.mark.slow  # a subprocess
def test_a_bad_input_exits_non_zero_from_the_shell(setup, tmp_path):
    out = tmp_path / 'out'
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'demo.py'), setup['images'],
         setup['config'], setup['checkpoint'], '--out-dir', str(out),
         '--classes', 'tree|tree'],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 1
    assert "class name 'tree' is used by class 0 and class 1" in \
        result.stderr
    assert not out.exists()


# ----------------------------------------------------------------------
# the model side
def test_checkpoint_loads_strictly_into_a_model_without_pretrained_weights(
        setup):
    state = _state(setup)
    state['text_encoder.clip.logit_scale'] = torch.tensor(float(np.log(50.0)))
    path = str(setup['root'] / 'scaled.pth')
    torch.save({'state_dict': state}, path)
    torch.manual_seed(1)  # other random weights before loading
    model = init_segmentor(setup['felzenszwalb_config'], path)
    assert model.text_encoder.logit_scale == pytest.approx(50.0)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    with pytest.raises(CheckpointMismatchError, match='size mismatch'):
        state['decode_head.' + next(
            k for k in model.decode_head.state_dict())] = torch.zeros(7, 3)
        torch.save(state, path)
        init_segmentor(setup['felzenszwalb_config'], path)


def test_no_random_initialisation_warning_before_the_checkpoint(
        setup, caplog):
    # the CLIP is built without weights because the checkpoint brings them;
    # open_clip's "Model initialized randomly" would read like a failure
    with caplog.at_level(logging.INFO):
        init_segmentor(setup['felzenszwalb_config'], setup['checkpoint'])
    assert 'initialized randomly' not in caplog.text
    assert 'No pretrained weights' not in caplog.text
    # only during our build: open_clip's own calls still warn
    import open_clip
    with caplog.at_level(logging.WARNING):
        open_clip.create_model('test-vit')
    assert 'initialized randomly' in caplog.text


def test_dataset_meta_follows_the_vocabulary(setup):
    model = init_segmentor(setup['felzenszwalb_config'], setup['checkpoint'])
    meta = model.dataset_meta
    assert meta['classes'] == ('sky', 'tree', 'car', 'road', 'grass')
    assert meta['palette'] == Vocabulary(TEST_CLASSES).palette
    model.dataset_meta = dict(classes=('road', 'sidewalk'), palette=None)
    assert model.dataset_meta == meta  # the test vocabulary stays
    model.set_vocabulary(['dog', 'sky'])
    assert model.dataset_meta['classes'] == ('dog', 'sky')
    assert model.dataset_meta['palette'][1] == meta['palette'][0]


def test_mmseg_inferencer_runs_our_model(setup, tmp_path):
    from mmseg.apis import MMSegInferencer
    inferencer = MMSegInferencer(
        model=setup['felzenszwalb_config'], weights=setup['checkpoint'],
        device='cpu')
    image = osp.join(setup['images'], 'a.png')
    first = inferencer(image, return_datasamples=True)
    assert first.pred_sem_seg.data.shape == (1, 48, 64)
    assert int(first.pred_sem_seg.data.max()) < len(TEST_CLASSES)
    inferencer.model.set_vocabulary(['dog', 'cat'])
    second = inferencer(image, out_dir=str(tmp_path))
    assert set(np.unique(second['predictions'])) <= {0, 1}
    assert inferencer.visualizer.dataset_meta['classes'] == ('dog', 'cat')
    drawing = mmcv.imread(str(tmp_path / 'vis' / 'a.png'))
    assert drawing.shape == (48, 64, 3)


# ----------------------------------------------------------------------
# mmseg's own entry points
def test_mmseg_init_model_runs_a_real_config_end_to_end(setup):
    """The README's snippet: init_model, set_vocabulary, classify_masks;
    and a prediction, against our init_segmentor."""
    from mmseg.apis import init_model
    model = init_model(setup['felzenszwalb_config'], setup['checkpoint'],
                       device='cpu')
    ours = init_segmentor(setup['felzenszwalb_config'], setup['checkpoint'])
    for key, value in ours.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    image = osp.join(setup['images'], 'b.png')
    result = inference_segmentor(model, build_test_pipeline(model.cfg), image)
    expected = inference_segmentor(ours, build_test_pipeline(ours.cfg), image)
    assert result.pred_sem_seg.data.shape == (1, 64, 40)
    assert torch.equal(result.pred_sem_seg.data, expected.pred_sem_seg.data)
    model.set_vocabulary(['sky,clouds', 'tree', 'red car'])
    images = torch.rand(1, 3, 48, 64) * 255
    masks = [(torch.rand(2, 48, 64) > 0.5).float()]
    logits = model.classify_masks(images, masks)[0]
    assert logits.shape == (2, 3)
    ours.set_vocabulary(['sky,clouds', 'tree', 'red car'])
    assert torch.allclose(logits, ours.classify_masks(images, masks)[0])


def test_maskclippp_refuses_a_pretrained_checkpoint_argument(setup):
    cfg = copy.deepcopy(setup['cfg'].model)
    cfg.pretrained = 'somewhere.pth'
    with pytest.raises(ValueError, match='backbone.pretrained'):
        MODELS.build(cfg)


@pytest.fixture(scope='module')
def checkpoint_without_psm(setup):
    state = {k: v for k, v in _state(setup).items()
             if not k.startswith('decode_head.')}
    path = str(setup['root'] / 'no_psm.pth')
    torch.save({'state_dict': state, 'meta': {}}, path)
    return path


def test_mmseg_loaders_refuse_a_checkpoint_without_psm(
        setup, checkpoint_without_psm):
    from mmseg.apis import MMSegInferencer, init_model
    message = 'trained parts of MaskCLIPpp.*missing keys \\(\\d+\\): ' \
        'decode_head\\.'
    with pytest.raises(CheckpointMismatchError, match=message):
        init_model(setup['felzenszwalb_config'], checkpoint_without_psm,
                   device='cpu')
    with pytest.raises(CheckpointMismatchError, match=message):
        MMSegInferencer(model=setup['felzenszwalb_config'],
                        weights=checkpoint_without_psm, device='cpu')
    with pytest.raises(CheckpointMismatchError,
                       match='no_psm.pth does not fit the model: .*decode_h'):
        init_segmentor(setup['felzenszwalb_config'], checkpoint_without_psm)


def test_a_crafted_checkpoint_runs_no_code_in_any_loader(setup, tmp_path):
    from mmseg.apis import MMSegInferencer, init_model
    marker = str(tmp_path / 'ran')
    path = write_crafted(str(tmp_path / 'crafted.pth'), marker,
                         {'state_dict': _state(setup)})
    config = setup['felzenszwalb_config']
    with pytest.raises(UnsafeCheckpointError, match='crafted.pth.*makedirs'):
        init_segmentor(config, path)
    # mmseg's loaders, plain and inside our context
    with pytest.raises(pickle.UnpicklingError):
        init_model(config, path, device='cpu')
    with pytest.raises(pickle.UnpicklingError):
        MMSegInferencer(model=config, weights=path, device='cpu')
    with pytest.raises(UnsafeCheckpointError), checkpoint_loading():
        init_model(config, path, device='cpu')
    assert not osp.exists(marker)
    # only an explicit opt-in unpickles it (and so runs it)
    with pytest.warns(UserWarning, match='full unpickling'):
        model = init_segmentor(config, path, allow_unsafe_pickle=True)
    assert osp.isdir(marker) and model is not None
