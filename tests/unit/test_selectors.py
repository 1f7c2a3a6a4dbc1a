"""Label and field selector parsing, matching and printing, with apimachinery's exact messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.apiserver.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    format_label_selector,
    go_quote,
    label_selector_from_object,
    parse_field_selector,
    parse_label_selector,
)

NAME_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("app=web", "app=web"),
        ("app==web", "app==web"),
        ("app!=web", "app!=web"),
        ("  tier in (fe, be) , app = web ", "app=web,tier in (be,fe)"),
        ("env notin (prod)", "env notin (prod)"),
        ("app", "app"),
        ("!app", "!app"),
        ("x>3,y<10", "x>3,y<10"),
        ("a=", "a="),
        ("a in ()", "a in ()"),
        ("a in (,b,)", "a in (,b)"),
        ("in in (in,notin)", "in in (in,notin)"),
        ("example.com/role=db", "example.com/role=db"),
        ("", ""),
    ],
)
def test_parse_and_canonical_string(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a,", "found '', expected: identifier after ','"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a in x", "unable to parse requirement: found 'x' expected: '('"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("a=(b", "unable to parse requirement: found '(', expected: identifier"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        (
            "a>b",
            "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        ("-a=b", f'unable to parse requirement: <nil>: Invalid value: "-a": name part {NAME_RULE}'),
        ("a=-b", f'unable to parse requirement: values[0][a]: Invalid value: "-b": {VALUE_RULE}'),
        ("/a", 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'),
        (
            "a/b/c",
            'unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name '
            + NAME_RULE
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        ),
        (
            "x" * 64,
            f'unable to parse requirement: <nil>: Invalid value: "{"x" * 64}": name part must be no more than 63 characters',
        ),
    ],
)
def test_parse_errors_match_kube(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_label_selector(text)
    assert str(err.value) == message


def test_uppercase_prefix_is_not_a_dns_subdomain() -> None:
    with pytest.raises(SelectorError) as err:
        parse_label_selector("Example.com/a")
    assert str(err.value).startswith(
        'unable to parse requirement: <nil>: Invalid value: "Example.com/a": prefix part a lowercase RFC 1123 '
        "subdomain must consist of lower case alphanumeric characters, '-' or '.'"
    )


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app=web", {"app": "db"}, False),
        ("app=web", {}, False),
        ("app!=web", {}, True),
        ("app!=web", {"app": "db"}, True),
        ("tier in (fe,be)", {"tier": "be"}, True),
        ("tier notin (fe)", {"x": "y"}, True),
        ("tier notin (fe)", {"tier": "fe"}, False),
        ("app", {"app": ""}, True),
        ("!app", {"app": ""}, False),
        ("a=", {"a": ""}, True),
        ("a=", {}, False),
        ("n>3", {"n": "4"}, True),
        ("n>3", {"n": "3"}, False),
        ("n<3", {"n": "-7"}, True),
        ("n>3", {"n": "four"}, False),
        ("n>3", {}, False),
        ("a=1,b=2", {"a": "1", "b": "2"}, True),
        ("a=1,b=2", {"a": "1"}, False),
        ("", {}, True),
    ],
)
def test_matches(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(selector).matches(labels) is expected


def test_empty_and_nothing() -> None:
    assert parse_label_selector("").empty()
    assert not parse_label_selector("a").empty()
    nothing = label_selector_from_object(None)
    assert not nothing.empty()
    assert not nothing.matches({})
    assert str(nothing) == ""
    everything = label_selector_from_object({})
    assert everything.empty() and everything.matches(None)
    assert LabelSelector.everything().matches({"x": "y"})


def test_label_selector_from_object() -> None:
    sel = {
        "matchLabels": {"tier": "fe", "app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "Exists"},
            {"key": "app", "operator": "NotIn", "values": ["db"]},
        ],
    }
    selector = label_selector_from_object(sel)
    assert str(selector) == "app=web,app notin (db),!canary,env in (dev,prod),tier=fe,zone"
    assert selector.matches({"app": "web", "tier": "fe", "env": "dev", "zone": "a"})
    assert not selector.matches({"app": "web", "tier": "fe", "env": "dev", "zone": "a", "canary": "1"})


@pytest.mark.parametrize(
    ("sel", "message"),
    [
        (
            {"matchExpressions": [{"key": "a", "operator": "In"}]},
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
            "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x", "y"]}]},
            'values: Invalid value: []string{"x", "y"}: values set must be empty for exists and does not exist',
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
            '"Gt" is not a valid label selector operator',
        ),
        ({"matchLabels": {"bad key": "v"}}, f'key: Invalid value: "bad key": name part {NAME_RULE}'),
        ({"matchLabels": {"k": "bad value"}}, f'values[0][k]: Invalid value: "bad value": {VALUE_RULE}'),
        (
            {"matchLabels": {"-k": "-v"}},
            f'[key: Invalid value: "-k": name part {NAME_RULE}, values[0][-k]: Invalid value: "-v": {VALUE_RULE}]',
        ),
    ],
)
def test_label_selector_from_object_errors(sel: dict[str, Any], message: str) -> None:
    with pytest.raises(SelectorError) as err:
        label_selector_from_object(sel)
    assert str(err.value) == message


def test_format_label_selector() -> None:
    assert format_label_selector({"matchLabels": {"b": "2", "a": "1"}}) == "a=1,b=2"
    assert format_label_selector(None) == ""
    assert format_label_selector({}) == ""


def test_go_quote() -> None:
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("tab\there\n\x01é") == '"tab\\there\\n\\x01é"'


# -- field selectors ---------------------------------------------------------------------------------
def test_field_selector_parse_and_match() -> None:
    sel = parse_field_selector("involvedObject.name=web,involvedObject.kind==Pod,type!=Normal")
    assert sel.requirements == (
        ("involvedObject.kind", "=", "Pod"),
        ("involvedObject.name", "=", "web"),
        ("type", "!=", "Normal"),
    )
    assert sel.matches({"involvedObject.name": "web", "involvedObject.kind": "Pod", "type": "Warning"})
    assert not sel.matches({"involvedObject.name": "web", "involvedObject.kind": "Pod", "type": "Normal"})
    assert str(sel) == "involvedObject.kind=Pod,involvedObject.name=web,type!=Normal"


def test_field_selector_missing_field_is_empty_string() -> None:
    assert parse_field_selector("spec.nodeName=").matches({})
    assert not parse_field_selector("spec.nodeName!=").matches({})
    assert parse_field_selector("").empty() and FieldSelector().matches({"a": "b"})
    assert parse_field_selector(",,a=b,").requirements == (("a", "=", "b"),)


def test_field_selector_escapes() -> None:
    sel = parse_field_selector(r"metadata.name=a\,b\=c\\d")
    assert sel.requirements == (("metadata.name", "=", "a,b=c\\d"),)
    assert str(sel) == r"metadata.name=a\,b\=c\\d"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a", "invalid selector: 'a'; can't understand 'a'"),
        ("b=1,a", "invalid selector: 'b=1,a'; can't understand 'a'"),
        ("a=b=c", "invalid field selector: unescaped character in value: 61"),
        (r"a=\x", "invalid field selector: invalid escape sequence: \\x"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_field_selector(text)
    assert str(err.value) == message


# -- round trip ---------------------------------------------------------------------------------------
NAME = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?", fullmatch=True)
KEY = st.one_of(
    NAME, st.builds(lambda p, n: f"{p}.io/{n}", st.from_regex(r"[a-z]{1,6}", fullmatch=True), NAME)
)
VALUE = st.one_of(st.just(""), NAME)
EXPR = st.one_of(
    st.builds(
        lambda k, v: {"key": k, "operator": "In", "values": v}, KEY, st.lists(VALUE, min_size=1, max_size=3)
    ),
    st.builds(
        lambda k, v: {"key": k, "operator": "NotIn", "values": v},
        KEY,
        st.lists(VALUE, min_size=1, max_size=3),
    ),
    st.builds(lambda k: {"key": k, "operator": "Exists"}, KEY),
    st.builds(lambda k: {"key": k, "operator": "DoesNotExist"}, KEY),
)
SELECTOR = st.fixed_dictionaries(
    {},
    optional={
        "matchLabels": st.dictionaries(KEY, VALUE, max_size=3),
        "matchExpressions": st.lists(EXPR, max_size=3),
    },
)
LABELS = st.dictionaries(KEY, VALUE, max_size=5)


@settings(max_examples=60, deadline=None)
@given(SELECTOR, st.lists(LABELS, min_size=1, max_size=5))
def test_format_then_parse_selects_the_same_label_sets(
    sel: dict[str, Any], label_sets: list[dict[str, str]]
) -> None:
    original = label_selector_from_object(sel)
    reparsed = parse_label_selector(format_label_selector(sel))
    # Besides random label sets, try sets that hit each expression's first value and every matchLabel.
    hits = [{e["key"]: e["values"][0]} for e in sel.get("matchExpressions", []) if e.get("values")]
    for labels in [*label_sets, *hits, dict(sel.get("matchLabels", {}))]:
        assert reparsed.matches(labels) == original.matches(labels)
    # Printing is a normal form: a reparsed selector prints back to the same text.
    assert str(parse_label_selector(str(reparsed))) == str(reparsed)


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z.]{0,10}", fullmatch=True),
            st.sampled_from(["=", "!="]),
            st.text(max_size=6),
        ),
        max_size=4,
    )
)
def test_field_selector_string_round_trips(reqs: list[tuple[str, str, str]]) -> None:
    sel = parse_field_selector(
        ",".join(
            f"{f}{op}{v.replace(chr(92), chr(92) * 2).replace(',', chr(92) + ',').replace('=', chr(92) + '=')}"
            for f, op, v in reqs
        )
    )
    assert parse_field_selector(str(sel)) == sel
