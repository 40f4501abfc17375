"""Segment images in the browser with any vocabulary (a Gradio page).

    python tools/web_demo.py                  # the toy-world model of make demo
    python tools/web_demo.py CONFIG CHECKPOINT --generator m2f_swin_t

Open the address it prints (http://127.0.0.1:7860 by default). Upload an
image or pick an example, type the classes (``|`` between classes, ``,``
between synonyms, as ``tools/demo.py --classes``) and/or tick benchmark
vocabularies, choose the task and press Segment: the page shows the masks
with class names, a legend of the classes present with their share of the
pixels, and offers the label map (class index of every pixel) with its
vocabulary for download.

Without CONFIG and CHECKPOINT it serves the embedded default, the toy-world
MaskCLIP++ (Linear PSM, Felzenszwalb masks) that ``make demo`` trains; when
its checkpoint is missing it is trained first (about 3 minutes on 2 CPU
cores), with the progress shown in the page.

The model and the text embeddings load once; a new vocabulary encodes only
its new names. Requests run one at a time, with a bounded queue. A bad
input (no classes, an image that cannot be decoded or is too large, too
many classes) is answered with a message in the page. The server listens
on 127.0.0.1 only, unless ``--host`` says otherwise.
"""  # noqa: E501
import argparse
import html
import logging
import os
import os.path as osp
import sys
import tempfile
import threading
import time
from typing import List, Optional

import gradio as gr
import mmcv
import torch
from mmengine.config import DictAction
from PIL import Image

from mmseg_maskclippp.apis import (Segmentation, Segmenter, check_image_size,
                                   init_segmentor, load_generator_config,
                                   parse_vocabulary)
from mmseg_maskclippp.models.segmentors.maskclippp import TASKS
from mmseg_maskclippp.vocabulary import Vocabulary

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
GENERATOR_DIR = osp.join(ROOT, 'configs', '_base_', 'generators')
#: mask generator of the toy default (the main job's class-agnostic one)
TOY_GENERATOR = 'felzenszwalb'
#: toy validation scenes offered as examples
NUM_TOY_EXAMPLES = 4
#: a vocabulary up to this size is typed into the page at start
MAX_PREFILLED_CLASSES = 40

logger = logging.getLogger('web_demo')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='MaskCLIP++ web demo: segment images with any vocabulary')
    parser.add_argument(
        'config', nargs='?',
        help='MaskCLIP++ config (default: the toy-world model)')
    parser.add_argument(
        'checkpoint', nargs='?', help='its checkpoint (ours or converted)')
    parser.add_argument(
        '--generator',
        help="mask generator replacing the config's: a config in "
        'configs/_base_/generators (felzenszwalb, m2f_swin_t, m2f_swin_l) '
        'or a file defining mask_generator (default for the toy model: '
        f'{TOY_GENERATOR})')
    parser.add_argument(
        '--examples', nargs='+', default=[],
        help='example images offered in the page (default for the toy '
        'model: validation scenes)')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (0.0.0.0: every one)')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument(
        '--work-dir', default='work_dirs/toy_world',
        help='where the toy model is (or is trained), as in make demo')
    parser.add_argument('--max-classes', type=int, default=1000,
                        help='largest vocabulary accepted')
    parser.add_argument('--max-megapixels', type=float, default=16.0,
                        help='largest image accepted')
    parser.add_argument('--max-upload-mb', type=int, default=50,
                        help='largest file accepted')
    parser.add_argument('--queue-size', type=int, default=8,
                        help='requests that may wait; more are refused')
    parser.add_argument('--opacity', type=float, default=0.6)
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='instances scoring at or below it are not drawn')
    parser.add_argument(
        '--device', default='cuda:0' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. '
        'model.test_cfg.object_mask_threshold=0.5')
    args = parser.parse_args(argv)
    if (args.config is None) != (args.checkpoint is None):
        parser.error('give both CONFIG and CHECKPOINT, or neither (the toy '
                     'model)')
    for name in ('max_classes', 'max_megapixels', 'max_upload_mb',
                 'queue_size'):
        if getattr(args, name) <= 0:
            parser.error(f'--{name.replace("_", "-")} must be positive')
    if not 0 <= args.opacity <= 1:
        parser.error(f'--opacity must be in 0..1, got {args.opacity}')
    return args


# ----------------------------------------------------------------------
# requests
def request_vocabulary(classes: Optional[str], vocabularies: List[str],
                       max_classes: int) -> Vocabulary:
    """The vocabulary of a request: the typed classes first, then the
    ticked benchmark vocabularies.

    Raises:
        ValueError: nothing typed or ticked, a malformed class list
            (:func:`parse_vocabulary`), more than ``max_classes`` classes.
    """
    typed = classes if classes and classes.strip() else None
    if typed is None and not vocabularies:
        raise ValueError('no classes: type the classes to segment '
                         "('sky,clouds|tree|red car') or tick a vocabulary")
    vocabulary = parse_vocabulary(
        typed, '+'.join(vocabularies) if vocabularies else None)
    if len(vocabulary) > max_classes:
        raise ValueError(
            f'the vocabulary has {len(vocabulary)} classes; this demo takes '
            f'at most {max_classes} (server option --max-classes)')
    return vocabulary


def check_image(path: str, name: str, max_megapixels: float) -> None:
    """Raise ``ValueError`` naming the upload ``name`` when the file is not
    an image we can decode, has more than ``max_megapixels`` (read from the
    header, before anything is decoded) or a size the CLI demo refuses too
    (:func:`check_image_size`)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        raise ValueError(f'{name} is far too large an image; this demo '
                         f'takes up to {max_megapixels:g} megapixels')
    except Exception as e:  # PIL raises many kinds for non-images
        raise ValueError(f'cannot decode {name}: not an image file '
                         f'({type(e).__name__})') from e
    megapixels = width * height / 1e6
    if megapixels > max_megapixels:
        raise ValueError(
            f'{name} is {width} x {height} pixels ({megapixels:.1f} '
            f'megapixels); this demo takes up to {max_megapixels:g} '
            'megapixels (server option --max-megapixels): downscale it')
    try:
        decoded = mmcv.imread(path)
    except Exception as e:
        raise ValueError(f'cannot decode {name}: {e}') from e
    if decoded is None:
        raise ValueError(f'cannot decode {name}: the image data is broken')
    check_image_size(name, *decoded.shape[:2])


def legend_html(segmentation: Segmentation) -> str:
    """The legend as an HTML table: colour, class name, pixel share."""
    rows = ''.join(
        '<tr><td><span class="swatch" style="background: rgb({}, {}, {})">'
        '</span></td><td class="legend-name">{}</td>'
        '<td class="legend-share">{:.1f} %</td></tr>'.format(
            *entry.colour, html.escape(entry.name), 100 * entry.share)
        for entry in segmentation.legend)
    return ('<table id="legend-table"><thead><tr><th></th><th>class</th>'
            f'<th>pixels</th></tr></thead><tbody>{rows}</tbody></table>')


class Server:
    """The model (once loaded) and what a request needs around it.

    Args:
        args: the command line.
        out_dir: where label maps for download are written.
    """

    def __init__(self, args, out_dir: str):
        self.args = args
        self.out_dir = out_dir
        self.segmenter: Optional[Segmenter] = None
        self.failure: Optional[str] = None
        self.progress: List[str] = []
        self.requests = 0

    def log(self, message: str) -> None:
        line = f'{time.strftime("%H:%M:%S")} {message}'
        self.progress.append(line)
        print(f'[web demo] {line}', flush=True)

    def load(self, config: str, checkpoint: str,
             generator: Optional[str]) -> None:
        args = self.args
        self.log(f'loading {checkpoint}')
        model = init_segmentor(
            config, checkpoint, device=args.device,
            cfg_options=args.cfg_options,
            mask_generator=load_generator_config(generator, GENERATOR_DIR)
            if generator else None)
        self.segmenter = Segmenter(model, args.opacity, args.score_thr)
        self.log(f'ready: {len(model.test_vocabulary)} classes preset')

    def train_toy_model_and_load(self, cfg, generator: str) -> None:
        """Prepare the toy world and fine-tune the default model (in a
        thread while the page is served), then load it."""
        from mmseg_maskclippp.toy_world.runs import prepare, train
        try:
            self.log('the toy model is missing: training it (about 3 '
                     'minutes on 2 CPU cores)')
            prepare(cfg, self.log)
            checkpoint = train(cfg, self.log)
            self.load(cfg.filename, checkpoint, generator)
        except Exception as e:
            logger.exception('training the toy model failed')
            self.failure = f'training the toy model failed: {e}'
            self.log(self.failure)

    def status(self) -> str:
        if self.segmenter is not None:
            model = self.segmenter.model
            return (f'**Model:** `{model.cfg.filename}` with '
                    f'{type(model.mask_generator).__name__} masks, on '
                    f'{self.args.device}.')
        lines = '\n'.join(self.progress[-12:])
        head = self.failure or 'Preparing the model, please wait…'
        return f'**{head}**\n\n```\n{lines}\n```'

    def segment(self, image: Optional[dict], classes: str,
                vocabularies: List[str], task: str, gamma: float):
        """The Segment button: (drawing, legend, files) or a gr.Error."""
        if self.segmenter is None:
            raise gr.Error(self.failure or 'the model is still being '
                           'prepared: see the progress at the top')
        if not image or not image.get('path'):
            raise gr.Error('no image: upload one or pick an example')
        name = image.get('orig_name') or osp.basename(image['path'])
        try:
            check_image(image['path'], name, self.args.max_megapixels)
            vocabulary = request_vocabulary(classes, vocabularies,
                                            self.args.max_classes)
            result = self.segmenter.segment(
                image['path'], vocabulary, task,
                gamma if self.segmenter.uses_ensemble else None)
        except ValueError as e:
            raise gr.Error(str(e))
        except Exception as e:  # keep serving; the console has the trace
            logger.exception('segmenting %s failed', name)
            raise gr.Error(f'segmentation failed: {type(e).__name__}: {e}')
        self.requests += 1
        folder = osp.join(self.out_dir, str(self.requests))
        stem = osp.splitext(osp.basename(name))[0] or 'image'
        label_path = osp.join(folder, f'{stem}_label.png')
        mmcv.imwrite(result.label_map(), label_path)
        vocabulary_path = osp.join(folder, 'vocabulary.txt')
        result.vocabulary.to_file(vocabulary_path)
        return result.drawing, legend_html(result), [label_path,
                                                     vocabulary_path]


# ----------------------------------------------------------------------
# the page
CSS = """
#legend-table td, #legend-table th { padding: 2px 8px; text-align: left; }
#legend-table .swatch { display: inline-block; width: 1.2em; height: 1.2em;
  border: 1px solid #888; vertical-align: middle; }
"""


def check_examples(paths: List[str]) -> List[str]:
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'--examples: no such file: {path}')
    return paths


def build_page(server: Server, preset: str, examples: List[str],
               uses_ensemble: bool) -> gr.Blocks:
    ready = server.segmenter is not None
    with gr.Blocks(title='MaskCLIP++', analytics_enabled=False) as page:
        gr.Markdown('# MaskCLIP++: segment an image with any vocabulary')
        status = gr.Markdown(server.status(), elem_id='status')
        with gr.Row():
            with gr.Column():
                image = gr.Image(label='image', type='filepath',
                                 sources=['upload', 'clipboard'],
                                 elem_id='input-image')
                classes = gr.Textbox(
                    label="classes ('|' between classes, ',' between "
                    'synonyms)', value=preset, lines=2,
                    placeholder='sky,clouds|tree|red car',
                    elem_id='classes')
                vocabularies = gr.CheckboxGroup(
                    Vocabulary.builtin_names(),
                    label='and/or benchmark vocabularies',
                    elem_id='vocabularies')
                task = gr.Radio(list(TASKS), value='semantic', label='task',
                                elem_id='task')
                gamma = gr.Slider(
                    0.0, 1.0, value=0.0, step=0.05,
                    label='gamma: weight of the generator\'s class scores '
                    '(Eq. 4)', visible=uses_ensemble)
                button = gr.Button('Segment', variant='primary',
                                   interactive=ready, elem_id='segment')
            with gr.Column():
                drawing = gr.Image(label='segmentation', type='numpy',
                                   format='png', interactive=False,
                                   elem_id='drawing')
                legend = gr.HTML(label='legend', elem_id='legend')
                files = gr.File(label='label map and its vocabulary',
                                file_count='multiple', interactive=False,
                                elem_id='label-files')
        if examples:
            gr.Examples(examples=[[path] for path in examples],
                        inputs=[image], label='examples')
        # preprocess=False: the handler gets the upload as it came and
        # decodes it itself, so that a bad file gets a clear message
        button.click(server.segment,
                     inputs=[image, classes, vocabularies, task, gamma],
                     outputs=[drawing, legend, files], preprocess=False,
                     concurrency_limit=1)
        if not ready:
            timer = gr.Timer(1.0)

            def poll():
                done = server.segmenter is not None or server.failure
                return (server.status(), gr.Timer(active=not done),
                        gr.Button(interactive=server.segmenter is not None))

            timer.tick(poll, outputs=[status, timer, button])
    return page


def prepare_toy_default(args, server: Server):
    """The toy default: its config, checkpoint and examples; the data are
    drawn now if missing, the model is loaded, or trained in the returned
    thread (not started)."""
    from mmseg_maskclippp.toy_world import (ToyWorld,
                                            prepare_segmentation_dataset)
    from mmseg_maskclippp.toy_world.runs import (DEFAULT_CONFIG, checkpoint_of,
                                                 run_config,
                                                 scenes_with_unseen)
    os.chdir(ROOT)  # the toy configs name their files relative to it
    cfg = run_config(DEFAULT_CONFIG, args.work_dir)
    world, data = ToyWorld(**cfg.toy_world.world), cfg.toy_world.data
    if prepare_segmentation_dataset(world, data.root, data.num_train,
                                    data.num_val, data.seed):
        server.log(f'drew the toy world scenes into {data.root}')
    examples = [
        osp.join(data.root, 'img_dir', 'val', name)
        for name in scenes_with_unseen(data.root, world, NUM_TOY_EXAMPLES)
    ]
    generator = args.generator or TOY_GENERATOR
    checkpoint = checkpoint_of(cfg)
    trainer = None
    if osp.isfile(checkpoint):
        server.load(cfg.filename, checkpoint, generator)
    else:
        trainer = threading.Thread(
            target=server.train_toy_model_and_load, args=(cfg, generator),
            daemon=True)
    return Vocabulary.build(cfg.model.test_vocabulary), examples, trainer


def main(argv=None) -> None:
    args = parse_args(argv)
    server = Server(args, tempfile.mkdtemp(prefix='maskclippp-web-'))
    trainer = None
    try:
        examples = check_examples(args.examples)
        if args.config is None:
            vocabulary, toy_examples, trainer = prepare_toy_default(
                args, server)
            examples = examples or toy_examples
        else:
            server.load(args.config, args.checkpoint, args.generator)
            vocabulary = server.segmenter.model.test_vocabulary
    except (ValueError, OSError) as e:
        sys.exit(f'web_demo.py: error: {e}')
    preset = '|'.join(','.join(c) for c in vocabulary.classes) \
        if len(vocabulary) <= MAX_PREFILLED_CLASSES else ''
    page = build_page(
        server, preset, examples,
        server.segmenter is not None and server.segmenter.uses_ensemble)
    page.queue(default_concurrency_limit=1, max_size=args.queue_size)
    if trainer is not None:
        trainer.start()
    page.launch(server_name=args.host, server_port=args.port,
                max_file_size=f'{args.max_upload_mb}mb', ssr_mode=False,
                allowed_paths=[server.out_dir], css=CSS)


if __name__ == '__main__':
    main()
