"""The web demo (tools/web_demo.py): its request handling on a tiny model,
and the page served by a real server, driven in a headless Chromium.

The browser test needs Chromium (Debian's ``chromium`` package, installed by
``tools/install_browser.sh``, which ``make test`` runs) or
``MASKCLIPPP_CHROMIUM`` pointing at a Chrome / Chromium executable.
"""
import os
import os.path as osp
import re
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import gradio as gr
import mmcv
import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from data_fixtures import write_demo_model
from mmseg_maskclippp import Vocabulary
from mmseg_maskclippp.apis import MIN_DISPLAY_SIZE, display_scale

pytestmark = pytest.mark.slow  # a server and a browser in subprocesses

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))

import web_demo  # noqa: E402

TEST_CLASSES = ['sky', 'tree,trees', 'car', 'road', 'grass']
#: where the browser test leaves its screenshots for a reviewer
ARTIFACTS = osp.join(ROOT, 'work_dirs', 'test_artifacts')
#: seconds the server may take to come up (imports, model), and the page
#: to answer a request
SERVER_START_S = 180
PAGE_S = 120


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    return write_demo_model(tmp_path_factory.mktemp('web'), TEST_CLASSES)


@pytest.fixture(scope='module')
def server(tiny, tmp_path_factory):
    args = web_demo.parse_args(
        [tiny['felzenszwalb_config'], tiny['checkpoint'], '--device', 'cpu',
         '--max-classes', '100', '--max-megapixels', '1'])
    server = web_demo.Server(args, str(tmp_path_factory.mktemp('out')))
    server.load(args.config, args.checkpoint, None)
    return server


def _upload(path):
    """What the page sends for an uploaded file (the handler runs without
    Gradio's preprocessing)."""
    return dict(path=str(path), orig_name=osp.basename(str(path)))


def test_a_request_gives_drawing_legend_and_label_map(server, tiny):
    image = osp.join(tiny['images'], 'a.png')  # 48 x 64
    drawing, legend, files = server.segment(
        _upload(image), 'dog|cat,kitten', ['voc20'], 'semantic', 0.0)
    scale = display_scale(48, 64)
    assert drawing.shape[0] == 48 * scale >= MIN_DISPLAY_SIZE
    labels = mmcv.imread(files[0], flag='unchanged')
    vocabulary = Vocabulary.from_file(files[1])
    assert vocabulary.names[:2] == ['dog', 'cat']
    assert vocabulary == Vocabulary.concat(
        [Vocabulary(['dog', 'cat,kitten']), Vocabulary.build('voc20')])
    # the legend: the classes of the label map with their pixel shares
    values, counts = np.unique(labels, return_counts=True)
    rows = re.findall(
        r'class="legend-name">([^<]*)</td><td class="legend-share">'
        r'([0-9.]+) %', legend)
    assert sorted(name for name, _ in rows) == sorted(
        vocabulary.names[v] for v in values)
    shares = {name: float(share) for name, share in rows}
    for value, count in zip(values, counts):
        assert shares[vocabulary.names[value]] == pytest.approx(
            100 * count / labels.size, abs=0.05)


def test_names_are_escaped_in_the_legend(server, tiny):
    image = osp.join(tiny['images'], 'b.png')
    _, legend, _ = server.segment(_upload(image), '<b>bold</b>', [],
                                  'semantic', 0.0)
    assert '&lt;b&gt;bold&lt;/b&gt;' in legend and '<b>' not in legend


@pytest.mark.parametrize('case, message', [
    ('empty vocabulary', 'no classes: type the classes'),
    ('blank class', 'class 1 .* empty after stripping'),
    ('5000 classes', 'has 5000 classes; this demo takes at most 100'),
    ('not an image', 'cannot decode broken.png: not an image file'),
    ('huge image', r'huge.png is 1200 x 1000 pixels \(1.2 megapixels\); '
     'this demo takes up to 1 megapixels'),
    ('1 x 2000 image', 'thin.png: the image is 1 x 2000 pixels; .* at least '
     '16'),
    ('no image', 'no image: upload one'),
])
def test_bad_requests_get_a_message_and_the_server_keeps_serving(
        server, tiny, tmp_path, case, message):
    image, classes = _upload(osp.join(tiny['images'], 'a.png')), 'sky|tree'
    if case == 'empty vocabulary':
        classes = '   '
    elif case == 'blank class':
        classes = 'sky|  |tree'
    elif case == '5000 classes':
        classes = '|'.join(f'thing {i}' for i in range(5000))
    elif case == 'not an image':
        (tmp_path / 'broken.png').write_bytes(b'not an image at all')
        image = _upload(tmp_path / 'broken.png')
    elif case == 'huge image':
        Image.new('RGB', (1200, 1000)).save(tmp_path / 'huge.png')
        image = _upload(tmp_path / 'huge.png')
    elif case == '1 x 2000 image':
        Image.new('RGB', (2000, 1)).save(tmp_path / 'thin.png')
        image = _upload(tmp_path / 'thin.png')
    else:
        image = None
    with pytest.raises(gr.Error, match=message):
        server.segment(image, classes, [], 'semantic', 0.0)
    drawing, _, _ = server.segment(
        _upload(osp.join(tiny['images'], 'a.png')), 'sky|tree', [],
        'semantic', 0.0)
    assert drawing.ndim == 3


def test_the_command_line_is_checked():
    with pytest.raises(SystemExit):
        web_demo.parse_args(['only_a_config.py'])
    with pytest.raises(SystemExit):
        web_demo.parse_args(['--max-classes', '0'])
    assert web_demo.parse_args([]).host == '127.0.0.1'


# ----------------------------------------------------------------------
# the page in a real browser
def chromium_executable():
    """The Chromium the browser test drives: ``MASKCLIPPP_CHROMIUM``, else
    the system one (Debian's ``chromium``); Playwright cannot download its
    own here."""
    path = os.environ.get('MASKCLIPPP_CHROMIUM') or shutil.which(
        'chromium') or shutil.which('chromium-browser')
    if not path:
        pytest.fail('the web demo test needs Chromium: run '
                    'tools/install_browser.sh (make test does), or set '
                    'MASKCLIPPP_CHROMIUM to a Chrome or Chromium executable')
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_until_serving(process, url, log_path):
    """Poll ``url`` until it answers (at most SERVER_START_S seconds),
    failing early if the server exits."""
    for _ in range(SERVER_START_S * 2):
        if process.poll() is not None:
            with open(log_path) as f:
                pytest.fail(f'the web demo exited ({process.returncode}):\n'
                            + f.read()[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        try:
            process.wait(timeout=0.5)  # bounded poll, not a sleep
        except subprocess.TimeoutExpired:
            pass
    pytest.fail(f'the web demo did not answer {url} in {SERVER_START_S} s')


@pytest.fixture
def web_server(tiny, tmp_path):
    """tools/web_demo.py on the tiny model, on a free loopback port, in its
    own process; stopped at the end."""
    cfg = Config.fromfile(tiny['felzenszwalb_config'])
    # the child process learns the tiny test CLIPs from the config
    cfg.custom_imports = dict(
        imports=['tiny_models_registered', 'mmseg_maskclippp'],
        allow_failed_imports=False)
    config = str(tmp_path / 'tiny_web.py')
    cfg.dump(config)
    port = free_port()
    log_path = str(tmp_path / 'server.log')
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False',
               GRADIO_TEMP_DIR=str(tmp_path / 'gradio'),
               PYTHONPATH=os.pathsep.join(
                   [ROOT, osp.join(ROOT, 'tests')] +
                   [p for p in [os.environ.get('PYTHONPATH')] if p]))
    with open(log_path, 'w') as log:
        process = subprocess.Popen(
            [sys.executable, osp.join(ROOT, 'tools', 'web_demo.py'), config,
             tiny['checkpoint'], '--device', 'cpu', '--host', '127.0.0.1',
             '--port', str(port), '--examples',
             osp.join(tiny['images'], 'a.png'),
             osp.join(tiny['images'], 'b.png')],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f'http://127.0.0.1:{port}/'
    try:
        wait_until_serving(process, url, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_page_segments_an_upload_in_a_real_browser(web_server, tiny):
    from playwright.sync_api import expect, sync_playwright
    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(), headless=True)
        try:
            page = browser.new_page(viewport=dict(width=1280, height=900))
            # nothing but the demo server may be reached
            page.route(
                '**/*', lambda route: route.continue_()
                if route.request.url.startswith(web_server) else
                route.abort())
            # the server answers within PAGE_S, however loaded the machine
            wait_ms = PAGE_S * 1000
            page.set_default_timeout(wait_ms)
            page.goto(web_server)

            page.locator('#input-image input[type=file]').set_input_files(
                osp.join(tiny['images'], 'a.png'))
            expect(page.locator('#input-image img')).to_be_visible(
                timeout=wait_ms)
            page.locator('#classes textarea').fill('dog|cat,kitten|boat')
            page.locator('#segment').click()

            names = page.locator('#legend-table .legend-name')
            expect(names.first).to_be_visible(timeout=wait_ms)
            assert set(names.all_inner_texts()) <= {'dog', 'cat', 'boat'}
            drawing = page.locator('#drawing img')
            expect(drawing).to_be_visible(timeout=wait_ms)
            width, height = drawing.evaluate(
                'img => [img.naturalWidth, img.naturalHeight]')
            assert height == 48 * display_scale(48, 64) and width > height
            # the label map for download, at the image's size
            link = page.locator('#label-files a[href$="/a_label.png"]')
            expect(link).to_be_visible(timeout=wait_ms)
            labels = mmcv.imfrombytes(
                page.request.get(link.get_attribute('href')).body(),
                flag='unchanged')
            assert labels.shape == (48, 64) and labels.max() < 3
            screenshot = osp.join(ARTIFACTS, 'web_demo.png')
            page.screenshot(path=screenshot, full_page=True)
            print(f'\nscreenshot of the web demo: {screenshot}')

            page.locator('#classes textarea').fill('sky|  |tree')
            page.locator('#segment').click()
            expect(page.get_by_text(
                re.compile('class 1 .* is empty after stripping')
            ).first).to_be_visible(timeout=wait_ms)
            page.screenshot(path=osp.join(ARTIFACTS, 'web_demo_error.png'),
                            full_page=True)
        finally:
            browser.close()
