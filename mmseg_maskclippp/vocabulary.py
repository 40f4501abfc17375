"""Open vocabularies: class names with synonyms.

A vocabulary is an ordered list of classes; each class is a non-empty tuple of
synonyms whose first entry is its display name. On disk one class is one line::

    <id>:<name>,<synonym>,<synonym>...

(``", "`` is read as ``","``; blank lines and lines starting with ``#`` are
skipped; files are UTF-8, with or without a byte-order mark). Ids must be
consecutive from the first one; they only document the order. A synonym is
one line of text without ``,`` (so that every vocabulary can be written and
read back). CLIP's tokenizer lowercases, so a synonym shared by two classes,
in any case (``sky``, ``Sky``), makes them compete for the same masks: that
is allowed (benchmark lists have such classes) but warned about, in one
warning per vocabulary. Built-in vocabularies live in
``mmseg_maskclippp/vocabularies`` and are named without the ``.txt`` suffix
(``Vocabulary.builtin_names()``).
"""
import colorsys
import hashlib
import os
import os.path as osp
import unicodedata
import warnings
from collections.abc import Sequence as SequenceABC
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch

BUILTIN_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'vocabularies')

VocabularyLike = Union['Vocabulary', str, Sequence[Union[str, Sequence[str]]]]


#: shared synonyms listed in the warning about them; the rest are counted
MAX_SHARED_SHOWN = 5


def _split_synonyms(entry: str, where: str) -> Tuple[str, ...]:
    synonyms = tuple(s.strip() for s in entry.replace(', ', ',').split(','))
    if not entry.strip() or any(not s for s in synonyms):
        raise ValueError(f'{where}: empty class name or synonym in {entry!r}')
    return synonyms


def _check_synonym(synonym: str, where: str) -> None:
    """A synonym is one line of text without the ``,`` separator."""
    control = [
        c for c in synonym if unicodedata.category(c) in ('Cc', 'Zl', 'Zp')
    ]
    if control:
        raise ValueError(
            f'{where}: synonym {synonym!r} contains the control character '
            f'{control[0]!r} (a line break, tab, ...): a class name must be '
            'one line of text')
    if ',' in synonym:
        raise ValueError(
            f'{where}: synonym {synonym!r} contains ",", which separates '
            'synonyms; give the synonyms as separate strings')


def _parse_entry(entry, where: str) -> Tuple[str, ...]:
    """One class: ``'sky,clouds'`` or ``('sky', 'clouds')``."""
    if isinstance(entry, str):
        synonyms = _split_synonyms(entry, where)
    elif isinstance(entry, SequenceABC):
        for s in entry:
            if not isinstance(s, str):
                raise TypeError(
                    f'{where}: synonym {s!r} of {entry!r} is a '
                    f'{type(s).__name__}, expected a string')
        synonyms = tuple(s.strip() for s in entry)
        if not synonyms or any(not s for s in synonyms):
            raise ValueError(
                f'{where}: empty class name or synonym in {entry!r}')
    else:
        raise TypeError(
            f'{where}: {entry!r} is a {type(entry).__name__}, expected a '
            "class name with comma-separated synonyms ('sky,clouds') or a "
            'list of synonyms')
    for s in synonyms:
        _check_synonym(s, where)
    return synonyms


def _tokenizer_text(synonym: str) -> str:
    """What CLIP's tokenizer sees of a synonym: lower case, single
    spaces."""
    return ' '.join(synonym.lower().split())


def _warn_shared_synonyms(classes: Sequence[Tuple[str, ...]],
                          source: str) -> None:
    """One warning listing every synonym (as the tokenizer sees it) that
    belongs to more than one class."""
    owners: Dict[str, List[int]] = {}
    for i, synonyms in enumerate(classes):
        for s in synonyms:
            found = owners.setdefault(_tokenizer_text(s), [])
            if i not in found:
                found.append(i)
    shared = [(s, ks) for s, ks in owners.items() if len(ks) > 1]
    if not shared:
        return
    listed = '; '.join(
        f'{s!r} in ' + ', '.join(f'class {k} ({classes[k][0]!r})'
                                 for k in ks)
        for s, ks in shared[:MAX_SHARED_SHOWN])
    more = f'; and {len(shared) - MAX_SHARED_SHOWN} more' \
        if len(shared) > MAX_SHARED_SHOWN else ''
    warnings.warn(
        f'{source}: {len(shared)} synonym(s) name more than one class '
        "(CLIP's tokenizer lowercases, so case does not tell them apart); "
        f'these classes compete for the same masks: {listed}{more}',
        stacklevel=3)


class Vocabulary:
    """An ordered list of classes, each a tuple of synonyms.

    Args:
        classes: one entry per class, either a string of comma-separated
            synonyms (``'sky,clouds'``) or a sequence of synonyms.
        source: where the vocabulary came from, used in error messages.

    Raises:
        TypeError: a class or synonym that is not a string.
        ValueError: an empty vocabulary, class or synonym, a synonym with a
            line break or ``,``, or two classes of the same display name.
    """

    def __init__(self,
                 classes: Sequence[Union[str, Sequence[str]]],
                 source: str = '<list>'):
        self.source = source
        if isinstance(classes, (str, bytes)) or not isinstance(
                classes, Iterable):
            raise TypeError(
                f'{source}: the classes {classes!r} are a '
                f'{type(classes).__name__}, expected a list of class names '
                '(Vocabulary.build and Vocabulary.from_string parse names '
                'and typed class lists)')
        parsed = [
            _parse_entry(entry, f'{source}, class {i}')
            for i, entry in enumerate(classes)
        ]
        if not parsed:
            raise ValueError(f'{source}: the vocabulary is empty')
        seen = {}
        for i, synonyms in enumerate(parsed):
            if synonyms[0] in seen:
                raise ValueError(
                    f'{source}: class name {synonyms[0]!r} is used by class '
                    f'{seen[synonyms[0]]} and class {i}')
            seen[synonyms[0]] = i
        _warn_shared_synonyms(parsed, source)
        self.classes: Tuple[Tuple[str, ...], ...] = tuple(parsed)

    # ------------------------------------------------------------------
    # construction
    @staticmethod
    def builtin_names() -> List[str]:
        """Names of the vocabularies shipped with the package."""
        if not osp.isdir(BUILTIN_DIR):
            return []
        return sorted(
            f[:-4] for f in os.listdir(BUILTIN_DIR) if f.endswith('.txt'))

    @classmethod
    def from_file(cls, path: str) -> 'Vocabulary':
        """Read an ``id:name,synonym,...`` file (UTF-8, a byte-order mark
        is skipped)."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'vocabulary file not found: {path}')
        try:
            with open(path, encoding='utf-8-sig') as f:
                lines = f.read().split('\n')
        except UnicodeDecodeError as e:
            raise ValueError(
                f'{path}: not UTF-8 text ({e.reason} at byte {e.start}); '
                'save the vocabulary file as UTF-8') from None
        classes, first_id = [], None
        for lineno, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            where = f'{path}:{lineno}'
            if ':' not in line:
                raise ValueError(
                    f'{where}: expected "<id>:<name>,<synonym>,...", '
                    f'got {line!r}')
            id_str, entry = line.split(':', 1)
            try:
                class_id = int(id_str)
            except ValueError:
                raise ValueError(
                    f'{where}: class id {id_str!r} is not an integer'
                ) from None
            if first_id is None:
                first_id = class_id
            expected = first_id + len(classes)
            if class_id != expected:
                raise ValueError(
                    f'{where}: class id {class_id} out of order, '
                    f'expected {expected}')
            classes.append(_split_synonyms(entry, where))
        return cls(classes, source=path)

    @classmethod
    def build(cls, spec: VocabularyLike) -> 'Vocabulary':
        """Build from a Vocabulary, a built-in name, a file path or a list.

        A string must name a built-in vocabulary or an existing file; class
        lists typed on the command line are parsed by
        :meth:`from_string` instead, so that a misspelt name is an error
        rather than a one-class vocabulary.
        """
        if isinstance(spec, Vocabulary):
            return spec
        if isinstance(spec, str):
            builtin = osp.join(BUILTIN_DIR, spec + '.txt')
            if osp.isfile(builtin):
                vocab = cls.from_file(builtin)
                vocab.source = spec
                return vocab
            if osp.isfile(spec):
                return cls.from_file(spec)
            raise ValueError(
                f'vocabulary {spec!r} is neither a built-in vocabulary '
                f'({", ".join(cls.builtin_names()) or "none installed"}) '
                'nor an existing file')
        return cls(spec)

    @classmethod
    def from_string(cls, text: str) -> 'Vocabulary':
        """Parse ``'sky,clouds|tree|red car'``: classes separated by ``|``,
        synonyms by ``,``."""
        if not text.strip():
            raise ValueError(f'the vocabulary {text!r} is empty: give class '
                             'names separated by "|"')
        entries = text.split('|')
        for i, entry in enumerate(entries):
            if not entry.strip():
                raise ValueError(
                    f'class {i} of {text!r} is empty after stripping')
        return cls(entries, source=repr(text))

    @classmethod
    def concat(cls, vocabularies: Iterable['Vocabulary']) -> 'Vocabulary':
        """Join vocabularies; a class whose display name was already added
        is skipped (its synonyms are merged into the first one)."""
        merged, index = [], {}
        sources = []
        for vocab in vocabularies:
            sources.append(vocab.source)
            for synonyms in vocab.classes:
                if synonyms[0] in index:
                    kept = merged[index[synonyms[0]]]
                    kept.extend(s for s in synonyms if s not in kept)
                else:
                    index[synonyms[0]] = len(merged)
                    merged.append(list(synonyms))
        return cls(merged, source='+'.join(sources))

    def to_file(self, path: str, first_id: int = 0) -> None:
        """Write in the ``id:name,synonym,...`` format."""
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            for i, synonyms in enumerate(self.classes):
                f.write(f'{first_id + i}:{",".join(synonyms)}\n')

    # ------------------------------------------------------------------
    # views
    def __len__(self) -> int:
        return len(self.classes)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.classes == other.classes

    def __hash__(self) -> int:
        return hash(self.classes)

    def __repr__(self) -> str:
        return (f'Vocabulary({len(self)} classes, '
                f'{self.num_synonyms_total} synonyms, from {self.source})')

    @property
    def names(self) -> List[str]:
        """Display name (first synonym) of every class."""
        return [synonyms[0] for synonyms in self.classes]

    @property
    def palette(self) -> List[Tuple[int, int, int]]:
        """An RGB colour per class, a function of its display name only
        (so a class keeps its colour when the vocabulary changes)."""
        colours = []
        for name in self.names:
            digest = hashlib.md5(name.encode('utf-8')).digest()
            hue = int.from_bytes(digest[:2], 'big') / 65536
            saturation = 0.55 + 0.45 * digest[2] / 255
            value = 0.7 + 0.3 * digest[3] / 255
            colours.append(
                tuple(
                    int(round(c * 255))
                    for c in colorsys.hsv_to_rgb(hue, saturation, value)))
        return colours

    @property
    def num_synonyms(self) -> List[int]:
        return [len(synonyms) for synonyms in self.classes]

    @property
    def num_synonyms_total(self) -> int:
        return sum(self.num_synonyms)

    @property
    def synonyms(self) -> List[str]:
        """All synonyms, class-major (Ka entries)."""
        return [s for synonyms in self.classes for s in synonyms]

    def synonym_to_class(self, device: Optional[torch.device] = None):
        """LongTensor (Ka,): the class index of every flat synonym."""
        return torch.repeat_interleave(
            torch.arange(len(self), device=device),
            torch.tensor(self.num_synonyms, device=device))

    def seen_mask(self, train_vocabulary: 'Vocabulary') -> List[bool]:
        """A class is *seen* when one of its synonyms equals exactly a
        synonym of a training class."""
        train_synonyms = set(train_vocabulary.synonyms)
        return [
            any(s in train_synonyms for s in synonyms)
            for synonyms in self.classes
        ]

    def match(self, other: 'Vocabulary') -> List[List[int]]:
        """For every class here, the classes of ``other`` that share a
        synonym with it (exact string match), in ``other``'s order."""
        owners = {}
        for j, synonyms in enumerate(other.classes):
            for s in synonyms:
                owners.setdefault(s, []).append(j)
        matches = []
        for synonyms in self.classes:
            found = []
            for s in synonyms:
                for j in owners.get(s, ()):
                    if j not in found:
                        found.append(j)
            matches.append(sorted(found))
        return matches
