"""Vocabularies: what can be written can be read back, bad classes are
named, and classes CLIP cannot tell apart are warned about."""
import warnings

import pytest

from mmseg_maskclippp import Vocabulary
from mmseg_maskclippp.apis import parse_vocabulary


@pytest.mark.parametrize('classes, message', [
    ('sky\ntree|car', r"'sky\\ntree' contains the control character"),
    ('sky|tr\ree|car', 'control character'),
    ('sky\ttree|car', 'control character'),
])
def test_typed_classes_with_line_breaks_are_rejected(classes, message):
    with pytest.raises(ValueError, match=message):
        parse_vocabulary(classes)


def test_synonyms_that_would_not_read_back_are_rejected():
    with pytest.raises(ValueError,
                       match="class 1: synonym 'b,c' contains \",\""):
        Vocabulary(['a', ('b,c', 'd')])
    with pytest.raises(ValueError, match=r"class 0: synonym 'line\\u2028"):
        Vocabulary(['line\u2028break'])


def test_every_accepted_vocabulary_reads_back(tmp_path):
    vocab = Vocabulary(['red car,auto', ('sky', 'heaven: above'),
                        'café|bar'])
    path = str(tmp_path / 'vocabulary.txt')
    vocab.to_file(path)
    assert Vocabulary.from_file(path) == vocab


@pytest.mark.parametrize('spec, message', [
    ([1, 2], r"class 0: 1 is a int, expected a class name"),
    (['sky', None], r"class 1: None is a NoneType"),
    ([('sky', 3)], r"class 0: synonym 3 of \('sky', 3\) is a int"),
    (5, r'the classes 5 are a int, expected a list'),
])
def test_non_strings_are_a_clear_type_error(spec, message):
    with pytest.raises(TypeError, match=message):
        Vocabulary.build(spec)


def test_a_bare_string_is_not_a_list_of_characters():
    with pytest.raises(TypeError, match="'sky' are a str"):
        Vocabulary('sky')


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / 'latin1.txt'
    path.write_bytes('0:caf\xe9\n1:sky\n'.encode('latin-1'))
    with pytest.raises(ValueError, match=f'{path}: not UTF-8 .* byte 5'):
        Vocabulary.from_file(str(path))


def test_byte_order_mark_is_skipped(tmp_path):
    path = tmp_path / 'bom.txt'
    path.write_bytes(b'\xef\xbb\xbf0:sky,clouds\r\n1:tree\r\n')
    assert Vocabulary.from_file(str(path)).classes == (('sky', 'clouds'),
                                                       ('tree', ))


def test_classes_clip_cannot_tell_apart_give_one_warning():
    with pytest.warns(UserWarning) as record:
        Vocabulary(['sky', 'Sky', 'tree,plant', 'shrub, Plant ', 'car'],
                   source='mine')
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith('mine: 2 synonym(s) name more than one class')
    assert "'sky' in class 0 ('sky'), class 1 ('Sky')" in message
    assert "'plant' in class 2 ('tree'), class 3 ('shrub')" in message


def test_shared_synonym_warning_lists_a_few_and_counts_the_rest():
    classes = [f'name {i},common {i // 2}' for i in range(20)]
    with pytest.warns(UserWarning, match=r'10 synonym\(s\) .* and 5 more'):
        Vocabulary(classes)


def test_distinct_vocabularies_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        Vocabulary(['sky,Sky', 'tree'])  # same class twice: harmless
        Vocabulary([f'class {i},synonym {i}' for i in range(5000)])
