"""Parsing a Dockerfile: instructions, line numbers, continuations, comments, and every parse error."""

from __future__ import annotations

import pytest

from ferry.build import BuildError
from ferry.build.dockerfile import Instruction, json_form, parse_dockerfile, split_flags


def test_instructions_keep_their_first_line_number_and_upper_case_keyword() -> None:
    text = '# syntax=docker/dockerfile:1\nfrom scratch\n\n  copy a b\nCmd ["x"]\n'
    got = [(i.keyword, i.args, i.line) for i in parse_dockerfile(text)]
    assert got == [("FROM", "scratch", 2), ("COPY", "a b", 4), ("CMD", '["x"]', 5)]


def test_continuation_lines_join_and_skip_comments_and_blank_lines_inside() -> None:
    text = "FROM scratch\nENV A=1 \\\n# a comment inside\n\n    B=2\nCOPY x y\n"
    instrs = parse_dockerfile(text)
    assert [(i.keyword, i.line) for i in instrs] == [("FROM", 1), ("ENV", 2), ("COPY", 6)]
    assert instrs[1].args.split() == ["A=1", "B=2"]


def test_continuation_at_end_of_file_is_kept() -> None:
    instrs = parse_dockerfile("FROM scratch\nCOPY a \\\n")
    assert instrs[-1].args == "a"


def test_hash_inside_arguments_is_not_a_comment() -> None:
    instrs = parse_dockerfile("FROM scratch\nLABEL x=a#b\n")
    assert instrs[1].args == "x=a#b"


def test_unknown_instruction_names_file_and_line() -> None:
    with pytest.raises(BuildError) as exc:
        parse_dockerfile("FROM scratch\n\nFETCH http://x\n", file="api.Dockerfile")
    assert str(exc.value) == "api.Dockerfile:3: unknown instruction 'FETCH'"


def test_empty_dockerfile_is_an_error() -> None:
    with pytest.raises(BuildError, match="Dockerfile: the Dockerfile has no instructions"):
        parse_dockerfile("# only a comment\n\n")


def test_json_form() -> None:
    assert json_form('["a", "b c"]') == ["a", "b c"]
    assert json_form("[not json") is None
    assert json_form("[1, 2]") is None
    assert json_form("echo hi") is None


def test_split_flags_reads_leading_flags_and_rejects_unknown_ones() -> None:
    instr = Instruction("COPY", "--chown=1:2 --link a b", 4)
    flags, rest = split_flags(instr, frozenset({"chown", "link"}))
    assert flags == {"chown": "1:2", "link": "true"}
    assert rest == "a b"
    with pytest.raises(BuildError, match=r"Dockerfile:4: COPY does not support the flag --exclude"):
        split_flags(Instruction("COPY", "--exclude=x a b", 4), frozenset({"chown"}))
