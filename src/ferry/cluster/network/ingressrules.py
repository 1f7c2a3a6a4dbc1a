"""Ingress rule matching (networking.k8s.io/v1), pure: Ingress dicts in, a :class:`RouteTable` that answers
"which backend serves this host and path" out. No I/O; the HTTP side is :mod:`ferry.cluster.network.ingress`.

Semantics, as https://kubernetes.io/docs/concepts/services-networking/ingress/ states them and ingress-nginx
implements them:

* **Which Ingresses.** Ours are those whose ``spec.ingressClassName`` (or the deprecated annotation
  ``kubernetes.io/ingress.class``) names an IngressClass whose ``spec.controller`` is ``ferry.dev/ingress``, and,
  when neither is set, all of them if one of our classes carries ``ingressclass.kubernetes.io/is-default-class:
  "true"`` (Kubernetes' admission plugin would have filled the name in at create time; ferry's API server has no
  such plugin, so the controller applies the default itself).
* **Host.** A request's ``Host`` (lower-cased, port and a trailing dot dropped) picks one *server*: a rule host
  equal to it, else a wildcard ``*.example.com`` matching exactly one more label (``a.example.com``, not
  ``example.com`` nor ``a.b.example.com``), else the catch-all server of rules without a host. As in
  ingress-nginx, a request whose host has a server never falls back to the catch-all server's paths.
* **Path.** ``Exact`` matches the request path as is (``/foo`` is not ``/foo/``). ``Prefix`` matches element-wise
  on ``/``-split paths, ignoring a trailing slash: ``/foo`` matches ``/foo``, ``/foo/`` and ``/foo/bar``, never
  ``/foobar``. ``ImplementationSpecific`` is treated as ``Prefix`` here (an empty path is ``/``). The request
  path is matched after percent-decoding, merging ``//`` and resolving ``.``/``..`` (as nginx normalizes the URI
  before choosing a location); the backend receives the original request target.
* **Precedence.** The longest matching path wins (a Prefix path counts without its trailing slash); at equal
  length ``Exact`` beats ``Prefix``; remaining ties go to the oldest Ingress (creationTimestamp, then
  namespace/name), as ingress-nginx resolves conflicts.
* **Default backend.** No path matching: the ``spec.defaultBackend`` of the oldest Ingress that has rules for
  that server (ingress-nginx's per-host root location), and for the catch-all server also of an Ingress without
  any rules. None: 404.
* **Backends.** ``service.name`` in the Ingress's namespace with ``port.number`` or ``port.name``.
  ``resource`` backends (for CRD-based backends) are not supported: such paths are skipped.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = [
    "CLASS_NAME",
    "CONTROLLER",
    "BackendRef",
    "PathRule",
    "RouteTable",
    "host_matches",
    "is_ours",
    "normalize_path",
    "our_classes",
]

CONTROLLER = "ferry.dev/ingress"  # IngressClass spec.controller of the classes ferry serves
CLASS_NAME = "ferry"  # the IngressClass created at start when missing
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class BackendRef:
    """A Service port an Ingress points at."""

    namespace: str
    service: str
    port_number: int | None
    port_name: str | None


@dataclass(frozen=True)
class PathRule:
    path: str  # Exact: as written; Prefix: without a trailing slash ("" for "/")
    exact: bool
    backend: BackendRef
    rank: int  # the Ingress's age rank: lower is older

    def matches(self, path: str, elements: list[str]) -> bool:
        if self.exact:
            return path == self.path
        mine = [e for e in self.path.split("/") if e]
        return elements[: len(mine)] == mine

    @property
    def precedence(self) -> tuple[int, bool, int]:
        """Sort key: longest path first, Exact before Prefix, oldest Ingress first."""
        return (-len(self.path), not self.exact, self.rank)


def our_classes(classes: Iterable[Obj], controller: str = CONTROLLER) -> tuple[frozenset[str], bool]:
    """The names of the IngressClasses ``controller`` implements, and whether one of them is the default."""
    names, default = set(), False
    for c in classes:
        if (c.get("spec") or {}).get("controller") != controller:
            continue
        meta = c.get("metadata") or {}
        names.add(str(meta.get("name") or ""))
        if (meta.get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true":
            default = True
    return frozenset(names), default


def is_ours(ingress: Obj, classes: frozenset[str], default: bool) -> bool:
    """Whether an Ingress belongs to one of ``classes`` (see the module docstring)."""
    name = (ingress.get("spec") or {}).get("ingressClassName")
    if not name:
        name = ((ingress.get("metadata") or {}).get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION)
    return name in classes if name else default


def normalize_path(target: str) -> str:
    """The path of a request target as matched: no query, percent-decoded, ``//`` merged, dot segments
    resolved, a trailing slash kept."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    path = unquote(path) or "/"
    if not path.startswith("/"):
        path = "/" + path
    trailing = path.endswith("/") or path.endswith("/.") or path.endswith("/..")
    norm = posixpath.normpath(path)
    if norm.startswith("//"):  # normpath keeps a leading "//" (POSIX); a URI path does not
        norm = "/" + norm.lstrip("/")
    if trailing and norm != "/":
        norm += "/"
    return norm


def host_of(header: str) -> str:
    """A Host header's name: lower-case, without the port and a trailing dot (IPv6 literals keep brackets)."""
    host = header.strip().lower()
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return host.rstrip(".")


def host_matches(pattern: str, host: str) -> bool:
    """An Ingress rule host against a request host: exact, or ``*.suffix`` matching exactly one label."""
    if not pattern.startswith("*."):
        return pattern == host
    label, dot, rest = host.partition(".")
    return bool(label) and bool(dot) and rest == pattern[2:]


def _age_key(ing: Obj) -> tuple[str, str, str]:
    meta = ing.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("namespace") or ""), str(meta.get("name")))


def _backend(namespace: str, backend: Any) -> BackendRef | None:
    service = (backend or {}).get("service") if isinstance(backend, dict) else None
    if not isinstance(service, dict) or not service.get("name"):
        return None  # a resource backend, or nothing usable
    port = service.get("port") or {}
    number = port.get("number")
    return BackendRef(
        namespace, str(service["name"]), int(number) if number else None, port.get("name") or None
    )


def _rule(path: Any, rank: int, namespace: str) -> PathRule | None:
    if not isinstance(path, dict):
        return None
    backend = _backend(namespace, path.get("backend"))
    if backend is None:
        return None
    value = str(path.get("path") or "/")
    if path.get("pathType") == "Exact":
        return PathRule(value, True, backend, rank)
    return PathRule(value.rstrip("/"), False, backend, rank)  # Prefix, ImplementationSpecific


@dataclass
class RouteTable:
    """Servers by host ("" = the catch-all server): their paths in precedence order and their default."""

    paths: dict[str, list[PathRule]] = field(default_factory=dict)
    defaults: dict[str, BackendRef] = field(default_factory=dict)
    ingresses: tuple[tuple[str, str], ...] = ()  # (namespace, name) of every Ingress served

    @classmethod
    def build(cls, ingresses: Iterable[Obj]) -> RouteTable:
        """The routes of ``ingresses`` (already filtered to ours)."""
        table = cls()
        served = []
        for rank, ing in enumerate(sorted(ingresses, key=_age_key)):
            meta, spec = ing.get("metadata") or {}, ing.get("spec") or {}
            ns = str(meta.get("namespace") or "default")
            served.append((ns, str(meta.get("name") or "")))
            default = _backend(ns, spec.get("defaultBackend"))
            rules = [r for r in spec.get("rules") or [] if isinstance(r, dict)]
            hosts = [str(r.get("host") or "").lower() for r in rules] or [""]
            for host in hosts:
                if default is not None:
                    table.defaults.setdefault(host, default)
                table.paths.setdefault(host, [])
            for rule in rules:
                host = str(rule.get("host") or "").lower()
                for p in (rule.get("http") or {}).get("paths") or []:
                    parsed = _rule(p, rank, ns)
                    if parsed is not None:
                        table.paths[host].append(parsed)
        for server in table.paths.values():
            server.sort(key=lambda r: r.precedence)
        table.ingresses = tuple(served)
        return table

    def server(self, host: str) -> str:
        """The rule host serving ``host``: itself, a matching wildcard, or "" (the catch-all server)."""
        if host in self.paths:
            return host
        return next((h for h in self.paths if h.startswith("*.") and host_matches(h, host)), "")

    def match(self, host_header: str, target: str) -> BackendRef | None:
        """The backend for a request (its Host header and request target), or None (404)."""
        server = self.server(host_of(host_header))
        path = normalize_path(target)
        elements = [e for e in path.split("/") if e]
        for rule in self.paths.get(server, ()):
            if rule.matches(path, elements):
                return rule.backend
        return self.defaults.get(server)
