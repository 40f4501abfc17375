"""Synonyms too long for CLIP's text context.

CLIP's tokenizer cuts every sentence at the context length (77 tokens for
most CLIPs) without a word; a synonym that long is classified by its first
words only. :func:`warn_truncated_synonyms` names such classes.
"""
import warnings
from typing import Callable, List, Sequence, Tuple

from mmseg_maskclippp.vocabulary import Vocabulary

#: overlong synonyms listed in the warning; the rest are counted
MAX_SHOWN = 5


def _byte_bound(text: str) -> int:
    """At least the number of BPE tokens of ``text``: CLIP's BPE makes at
    most one token per UTF-8 byte of the non-space characters."""
    return len(''.join(text.lower().split()).encode('utf-8'))


def overlong_synonyms(encode: Callable[[str], Sequence[int]],
                      templates: Sequence[str], synonyms: Sequence[str],
                      context_length: int) -> Tuple[str, List[Tuple[int,
                                                                    int]]]:
    """The longest template and the (index, tokens) of every synonym whose
    sentence in it, with the start and end tokens, exceeds
    ``context_length``; ``encode`` maps a text to its BPE tokens. Only
    sentences that might be too long (:func:`_byte_bound`) are encoded:
    the tokenizer is slow (~1 ms a sentence)."""
    longest = max(templates, key=lambda t: len(encode(t.format(''))))
    found = []
    for i, synonym in enumerate(synonyms):
        sentence = longest.format(synonym)
        if _byte_bound(sentence) + 2 <= context_length:
            continue
        tokens = len(encode(sentence)) + 2
        if tokens > context_length:
            found.append((i, tokens))
    return longest, found


def warn_truncated_synonyms(tokenizer, templates: Sequence[str],
                            vocabulary: Vocabulary, context_length: int,
                            model_name: str) -> None:
    """One warning naming the classes whose synonyms are cut. Tokenizers
    without a plain ``encode`` (Hugging Face ones) are not checked."""
    encode = getattr(tokenizer, 'encode', None)
    if encode is None:
        return
    longest, found = overlong_synonyms(encode, templates,
                                       vocabulary.synonyms, context_length)
    if not found:
        return
    owner = vocabulary.synonym_to_class().tolist()
    listed = '; '.join(
        f'{vocabulary.synonyms[i]!r} (class {owner[i]}, '
        f'{vocabulary.names[owner[i]]!r}): {tokens} tokens'
        for i, tokens in found[:MAX_SHOWN])
    more = f'; and {len(found) - MAX_SHOWN} more' \
        if len(found) > MAX_SHOWN else ''
    warnings.warn(
        f'{vocabulary.source}: {len(found)} synonym(s) are longer than the '
        f'{context_length}-token text context of {model_name!r} in the '
        f'template {longest!r} and are cut at its end: {listed}{more}',
        stacklevel=3)
