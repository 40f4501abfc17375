"""Vocabularies as users type them: class lists and benchmark names.

``--classes 'sky,clouds|tree|red car'`` lists classes (``|``) with their
synonyms (``,``); ``--vocabulary ade150+voc20`` joins benchmark vocabularies
(or vocabulary files) with ``+``. Both may be given: the typed classes come
first, and a class already added is merged rather than repeated.
"""
import os.path as osp
from typing import Optional

from mmseg_maskclippp.vocabulary import Vocabulary


def builtin_name(name: str) -> str:
    """``'coco-stuff'`` -> ``'coco_stuff'``: the spelling of the built-in
    vocabulary files (lower case, ``_`` for ``-``)."""
    return name.strip().lower().replace('-', '_')


def vocabulary_from_name(spec: str) -> Vocabulary:
    """One benchmark name (``ade150``, ``coco-stuff``, ...) or vocabulary
    file."""
    name = builtin_name(spec)
    if name in Vocabulary.builtin_names():
        return Vocabulary.build(name)
    if osp.isfile(spec):
        return Vocabulary.from_file(spec)
    raise ValueError(
        f'vocabulary {spec!r} is neither a benchmark vocabulary '
        f'({", ".join(Vocabulary.builtin_names())}) nor an existing '
        'vocabulary file')


def parse_vocabulary(classes: Optional[str] = None,
                     vocabulary: Optional[str] = None) -> Vocabulary:
    """The vocabulary of ``--classes`` and/or ``--vocabulary``.

    Args:
        classes: ``'sky,clouds|tree|red car'``: classes separated by ``|``,
            synonyms by ``,`` (:meth:`Vocabulary.from_string`).
        vocabulary: benchmark names or vocabulary files joined by ``+``
            (``'ade150+voc20'``); a single existing file may contain ``+``.

    Raises:
        ValueError: nothing given, an empty vocabulary, a class or synonym
            empty after stripping, a class name given twice in ``classes``,
            or an unknown vocabulary name.
    """
    if classes is None and vocabulary is None:
        raise ValueError('give the classes to segment (--classes) or a '
                         'vocabulary (--vocabulary)')
    parts = []
    if classes is not None:
        parts.append(Vocabulary.from_string(classes))
    if vocabulary is not None:
        if not vocabulary.strip():
            raise ValueError('the vocabulary name is empty')
        specs = [vocabulary] if osp.isfile(vocabulary) else \
            vocabulary.split('+')
        for spec in specs:
            if not spec.strip():
                raise ValueError(
                    f'empty vocabulary name in {vocabulary!r}')
            parts.append(vocabulary_from_name(spec.strip()))
    return parts[0] if len(parts) == 1 else Vocabulary.concat(parts)
