"""Docker's word rules: quoting, escapes, and $VAR / ${VAR...} substitution."""

from __future__ import annotations

import pytest

from ferry.build.shellwords import WordError, process_word, process_words, split_words

ENV = {"A": "alpha", "EMPTY": "", "SP": "x y"}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("$A", "alpha"),
        ("${A}", "alpha"),
        ("pre-${A}-post", "pre-alpha-post"),
        ("$A.txt", "alpha.txt"),
        ("$UNSET", ""),
        ("${UNSET:-dflt}", "dflt"),
        ("${EMPTY:-dflt}", "dflt"),
        ("${EMPTY-dflt}", ""),
        ("${UNSET-dflt}", "dflt"),
        ("${A:+set}", "set"),
        ("${EMPTY:+set}", ""),
        ("${EMPTY+set}", "set"),
        ("${UNSET:-${A}}", "alpha"),
        ("'$A'", "$A"),
        ('"$A and ${SP}"', "alpha and x y"),
        (r"\$A", "$A"),
        (r'"a\"b"', 'a"b'),
        (r'"a\nb"', r"a\nb"),
        ("a\\ b", "a b"),
        ("$", "$"),
        ("cost $5", "cost "),
        ("100%", "100%"),
    ],
)
def test_process_word(word: str, expected: str) -> None:
    assert process_word(word, ENV) == expected


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("'open", "unterminated single quote"),
        ('"open', "unterminated double quote"),
        ("${A", "missing '}'"),
        ("${}", "missing variable name"),
        ("${A/x/y}", "unsupported modifier"),
        ("${UNSET:?must be set}", "UNSET: must be set"),
        ("${UNSET?}", "UNSET: is not set"),
    ],
)
def test_process_word_errors(word: str, message: str) -> None:
    with pytest.raises(WordError, match=message.replace("$", r"\$").replace("{", r"\{")):
        process_word(word, ENV)


def test_split_words_keeps_quotes_and_splits_on_unquoted_space() -> None:
    assert split_words("A=\"x y\" B='1 2'  C=a\\ b") == ['A="x y"', "B='1 2'", "C=a\\ b"]


def test_process_words_expands_each_word_but_does_not_split_values() -> None:
    assert process_words("$SP ${A}", ENV) == ["x y", "alpha"]
