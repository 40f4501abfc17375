"""Installs ``mmseg_maskclippp``, the MaskCLIP++ plugin for mmsegmentation 1.x.

torch and mmcv are not installed from here: pick the torch build that matches
your CUDA driver, then ``mim install mmcv==2.1.0`` (see README).
"""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Requirement lines of ``requirements/<name>.txt``, comments dropped."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def read_version():
    with open(osp.join(HERE, 'mmseg_maskclippp', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


setup(
    name='mmseg_maskclippp',
    version=read_version(),
    description='MaskCLIP++: fine-tuning CLIP with ground-truth masks for '
    'open-vocabulary segmentation, as an mmsegmentation 1.x plugin',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmseg_maskclippp', 'mmseg_maskclippp.*']),
    include_package_data=True,
    package_data={
        'mmseg_maskclippp':
        ['vocabularies/*.txt', 'vocabularies/README.md',
         'models/text/templates/*.txt', 'toy_world/*.json']
    },
    python_requires='>=3.9',
    install_requires=read_requirements('runtime') + ['mmcv>=2.0.0,<2.2.0'],
    extras_require={
        'tests': read_requirements('tests'),
        'web': read_requirements('web')
    },
    license='Apache License 2.0',
    zip_safe=False,
)
