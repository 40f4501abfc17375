"""Open vocabularies: class names with synonyms.

A vocabulary is an ordered list of classes; each class is a non-empty tuple of
synonyms whose first entry is its display name. On disk one class is one line::

    <id>:<name>,<synonym>,<synonym>...

(``", "`` is read as ``","``; blank lines and lines starting with ``#`` are
skipped). Ids must be consecutive from the first one; they only document
the order. Built-in vocabularies live in ``mmseg_maskclippp/vocabularies``
and are named without the ``.txt`` suffix (``Vocabulary.builtin_names()``).
"""
import colorsys
import hashlib
import os
import os.path as osp
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import torch

BUILTIN_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'vocabularies')

VocabularyLike = Union['Vocabulary', str, Sequence[Union[str, Sequence[str]]]]


def _split_synonyms(entry: str, where: str) -> Tuple[str, ...]:
    synonyms = tuple(s.strip() for s in entry.replace(', ', ',').split(','))
    if not entry.strip() or any(not s for s in synonyms):
        raise ValueError(f'{where}: empty class name or synonym in {entry!r}')
    return synonyms


class Vocabulary:
    """An ordered list of classes, each a tuple of synonyms.

    Args:
        classes: one entry per class, either a string of comma-separated
            synonyms (``'sky,clouds'``) or a sequence of synonyms.
        source: where the vocabulary came from, used in error messages.
    """

    def __init__(self,
                 classes: Sequence[Union[str, Sequence[str]]],
                 source: str = '<list>'):
        self.source = source
        parsed = []
        for i, entry in enumerate(classes):
            where = f'{source}, class {i}'
            if isinstance(entry, str):
                parsed.append(_split_synonyms(entry, where))
            else:
                synonyms = tuple(str(s).strip() for s in entry)
                if not synonyms or any(not s for s in synonyms):
                    raise ValueError(
                        f'{where}: empty class name or synonym in {entry!r}')
                parsed.append(synonyms)
        if not parsed:
            raise ValueError(f'{source}: the vocabulary is empty')
        seen = {}
        for i, synonyms in enumerate(parsed):
            if synonyms[0] in seen:
                raise ValueError(
                    f'{source}: class name {synonyms[0]!r} is used by class '
                    f'{seen[synonyms[0]]} and class {i}')
            seen[synonyms[0]] = i
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
        """Read an ``id:name,synonym,...`` file."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'vocabulary file not found: {path}')
        classes, first_id = [], None
        with open(path, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
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
