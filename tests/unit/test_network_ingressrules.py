"""Ingress rule matching: the Kubernetes documentation's examples table, hosts, precedence, defaults, classes."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.cluster.network.ingressrules import (
    BackendRef,
    RouteTable,
    host_matches,
    is_ours,
    normalize_path,
    our_classes,
)


def backend(name: str, port: int | str = 80) -> dict[str, Any]:
    p = {"number": port} if isinstance(port, int) else {"name": port}
    return {"service": {"name": name, "port": p}}


def ingress(
    name: str,
    rules: list[dict[str, Any]] | None = None,
    *,
    default: str | None = None,
    created: str = "2026-01-01T00:00:00Z",
    ns: str = "default",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": rules or []}
    if default:
        spec["defaultBackend"] = backend(default)
    return {"metadata": {"namespace": ns, "name": name, "creationTimestamp": created}, "spec": spec}


def paths(*items: tuple[str, str, str], host: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "http": {"paths": [{"path": p, "pathType": t, "backend": backend(svc)} for p, t, svc in items]}
    }
    if host is not None:
        rule["host"] = host
    return rule


def served(table: RouteTable, path: str, host: str = "") -> str | None:
    ref = table.match(host, path)
    return None if ref is None else ref.service


# https://kubernetes.io/docs/concepts/services-networking/ingress/#examples: (kind, paths, request, matches)
DOC_EXAMPLES = [
    ("Prefix", ["/"], ["/", "/anything", "/a/b/c"], True),
    ("Exact", ["/foo"], ["/foo"], True),
    ("Exact", ["/foo"], ["/bar"], False),
    ("Exact", ["/foo"], ["/foo/"], False),
    ("Exact", ["/foo/"], ["/foo"], False),
    ("Prefix", ["/foo"], ["/foo", "/foo/"], True),
    ("Prefix", ["/foo/"], ["/foo", "/foo/"], True),
    ("Prefix", ["/aaa/bb"], ["/aaa/bbb"], False),
    ("Prefix", ["/aaa/bbb"], ["/aaa/bbb"], True),
    ("Prefix", ["/aaa/bbb/"], ["/aaa/bbb"], True),  # ignores the trailing slash
    ("Prefix", ["/aaa/bbb"], ["/aaa/bbb/"], True),  # matches the trailing slash
    ("Prefix", ["/aaa/bbb"], ["/aaa/bbb/ccc"], True),  # matches a subpath
    ("Prefix", ["/aaa/bbb"], ["/aaa/bbbxyz"], False),  # not a string prefix
    ("Prefix", ["/aaa"], ["/ccc"], False),  # the default backend's
]


@pytest.mark.parametrize(("kind", "rule_paths", "requests", "matches"), DOC_EXAMPLES)
def test_the_documentation_examples(
    kind: str, rule_paths: list[str], requests: list[str], matches: bool
) -> None:
    table = RouteTable.build([ingress("i", [paths(*[(p, kind, "svc") for p in rule_paths])])])
    for request in requests:
        assert (served(table, request) == "svc") is matches, request


@pytest.mark.parametrize(
    ("rule_paths", "request_path", "winner"),
    [
        (["/", "/aaa"], "/aaa/ccc", "/aaa"),  # matches the /aaa prefix
        (["/", "/aaa", "/aaa/bbb"], "/aaa/bbb", "/aaa/bbb"),
        (["/", "/aaa", "/aaa/bbb"], "/ccc", "/"),
    ],
)
def test_the_longest_prefix_wins(rule_paths: list[str], request_path: str, winner: str) -> None:
    table = RouteTable.build([ingress("i", [paths(*[(p, "Prefix", f"svc{p}") for p in rule_paths])])])
    assert served(table, request_path) == f"svc{winner}"


def test_exact_beats_prefix_at_equal_length_whatever_the_order() -> None:
    for order in (
        [("/foo", "Prefix", "p"), ("/foo", "Exact", "e")],
        [("/foo", "Exact", "e"), ("/foo", "Prefix", "p")],
    ):
        table = RouteTable.build([ingress("i", [paths(*order)])])
        assert served(table, "/foo") == "e"
        assert served(table, "/foo/x") == "p"
    table = RouteTable.build([ingress("i", [paths(("/foo/", "Prefix", "p"), ("/foo", "Exact", "e"))])])
    assert served(table, "/foo") == "e"  # a Prefix path counts without its trailing slash


def test_implementation_specific_is_a_prefix_and_an_empty_path_is_the_root() -> None:
    rule = {"http": {"paths": [{"pathType": "ImplementationSpecific", "backend": backend("root")}]}}
    table = RouteTable.build([ingress("i", [rule, paths(("/api", "ImplementationSpecific", "api"))])])
    assert served(table, "/api/v1") == "api"
    assert served(table, "/apiv1") == "root"


def test_request_paths_are_normalized_and_the_query_ignored() -> None:
    assert normalize_path("/a/./b/../c?x=/d") == "/a/c"
    assert normalize_path("//a//b/") == "/a/b/"
    assert normalize_path("/%61pi/") == "/api/"
    assert normalize_path("") == "/"
    table = RouteTable.build(
        [ingress("i", [paths(("/admin", "Prefix", "admin"), ("/", "Prefix", "public"))])]
    )
    assert served(table, "/public/../admin/x") == "admin"
    assert served(table, "/%61dmin?q=1") == "admin"


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("foo.bar.com", "foo.bar.com", True),
        ("foo.bar.com", "bar.com", False),
        ("*.foo.com", "bar.foo.com", True),
        ("*.foo.com", "baz.bar.foo.com", False),  # the wildcard covers one label only
        ("*.foo.com", "foo.com", False),
        ("*.foo.com", ".foo.com", False),
    ],
)
def test_host_matching(pattern: str, host: str, matches: bool) -> None:
    assert host_matches(pattern, host) is matches


def test_hosts_pick_a_server_exact_then_wildcard_then_the_catch_all() -> None:
    table = RouteTable.build(
        [
            ingress(
                "i",
                [
                    paths(("/", "Prefix", "exact"), host="foo.bar.com"),
                    paths(("/", "Prefix", "wild"), host="*.bar.com"),
                    paths(("/", "Prefix", "any")),
                ],
            )
        ]
    )
    assert served(table, "/", "foo.bar.com") == "exact"
    assert served(table, "/", "FOO.bar.com:8080") == "exact"  # case and port do not matter
    assert served(table, "/", "foo.bar.com.") == "exact"
    assert served(table, "/", "baz.bar.com") == "wild"
    assert served(table, "/", "a.baz.bar.com") == "any"
    assert served(table, "/", "") == "any"  # no Host header
    assert served(table, "/", "[::1]:80") == "any"


def test_a_host_server_does_not_fall_back_to_the_catch_all_paths() -> None:
    table = RouteTable.build(
        [ingress("i", [paths(("/api", "Prefix", "api"), host="a.com"), paths(("/", "Prefix", "any"))])]
    )
    assert served(table, "/api", "a.com") == "api"
    assert served(table, "/other", "a.com") is None
    assert served(table, "/other", "b.com") == "any"


def test_default_backends_per_server_and_for_the_catch_all() -> None:
    catch_all = ingress("catch", default="fallback", created="2026-01-02T00:00:00Z")
    hosted = ingress("hosted", [paths(("/api", "Prefix", "api"), host="a.com")], default="a-default")
    table = RouteTable.build([catch_all, hosted])
    assert served(table, "/api/x", "a.com") == "api"
    assert served(table, "/web", "a.com") == "a-default"
    assert served(table, "/web", "b.com") == "fallback"
    assert RouteTable.build([]).match("a.com", "/") is None


def test_conflicts_go_to_the_oldest_ingress() -> None:
    old = ingress("zz-old", [paths(("/", "Prefix", "old"))], created="2026-01-01T00:00:00Z")
    new = ingress("aa-new", [paths(("/", "Prefix", "new"))], created="2026-02-01T00:00:00Z")
    assert served(RouteTable.build([new, old]), "/") == "old"
    assert RouteTable.build([new, old]).ingresses == (("default", "zz-old"), ("default", "aa-new"))


def test_backends_by_port_number_or_name_in_the_ingress_namespace() -> None:
    rule = {
        "http": {
            "paths": [
                {"path": "/n", "pathType": "Prefix", "backend": backend("web", 8080)},
                {"path": "/s", "pathType": "Prefix", "backend": backend("web", "http")},
                {
                    "path": "/r",
                    "pathType": "Prefix",
                    "backend": {"resource": {"kind": "Bucket", "name": "b"}},
                },
            ]
        }
    }
    table = RouteTable.build([ingress("i", [rule], ns="shop")])
    assert table.match("", "/n") == BackendRef("shop", "web", 8080, None)
    assert table.match("", "/s") == BackendRef("shop", "web", None, "http")
    assert table.match("", "/r") is None  # resource backends are not supported


def cls(name: str, controller: str, default: bool = False) -> dict[str, Any]:
    annotations = {"ingressclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations}, "spec": {"controller": controller}}


def test_ingress_classes_select_the_ingresses_served() -> None:
    names, default = our_classes(
        [cls("ferry", "ferry.dev/ingress"), cls("nginx", "k8s.io/ingress-nginx", True)]
    )
    assert (names, default) == (frozenset({"ferry"}), False)
    named = {"metadata": {}, "spec": {"ingressClassName": "ferry"}}
    legacy = {"metadata": {"annotations": {"kubernetes.io/ingress.class": "ferry"}}, "spec": {}}
    other = {"metadata": {}, "spec": {"ingressClassName": "nginx"}}
    unset: dict[str, Any] = {"metadata": {}, "spec": {}}
    assert is_ours(named, names, default) and is_ours(legacy, names, default)
    assert not is_ours(other, names, default)
    assert not is_ours(unset, names, default)
    names, default = our_classes([cls("edge", "ferry.dev/ingress", True)])
    assert is_ours(unset, names, default)  # the default class's controller takes Ingresses without a class
    assert not is_ours(named, names, default)  # "ferry" is not a class of ours here
