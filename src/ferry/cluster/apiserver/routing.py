"""Turn a request path into :class:`RequestInfo` (kube's ``RequestInfoFactory``).

Resource paths::

    /api/v1/<plural>[/<name>[/<sub>]]                          cluster-scoped, or all namespaces for lists
    /api/v1/namespaces/<ns>/<plural>[/<name>[/<sub>]]          namespaced
    /apis/<group>/<version>/...                                the same below a group

``/api/v1/namespaces/<name>`` is the Namespace itself, and ``/api/v1/namespaces/<name>/status|finalize``
its subresources; ``/api/v1/namespaces/<ns>/<plural>`` is a namespaced collection when ``<plural>`` is a
namespaced resource of that group-version.
"""

from __future__ import annotations

from dataclasses import dataclass

from ferry.cluster.apiserver import errors
from ferry.cluster.resources.catalog import Catalog
from ferry.cluster.resources.types import ResourceType


@dataclass(frozen=True)
class RequestInfo:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str


def _unknown(group: str, version: str, rest: list[str]) -> errors.ApiError:
    return errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})


def resolve(catalog: Catalog, group: str, version: str, rest: list[str]) -> RequestInfo:
    """``rest`` = the path segments after ``/api/v1`` or ``/apis/<g>/<v>``."""
    if not rest:
        raise _unknown(group, version, rest)
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = catalog.lookup(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            ns = rest[1]
            tail = rest[3:]
            if len(tail) > 2:
                raise _unknown(group, version, rest)
            name = tail[0] if tail else None
            sub = tail[1] if len(tail) > 1 else ""
            return _check_sub(candidate, ns, name, sub)
    rt = catalog.lookup(group, version, rest[0])
    if rt is None or len(rest) > 3:
        raise _unknown(group, version, rest)
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else ""
    if rt.namespaced and name is not None:
        # /api/v1/pods/x makes no sense: a namespaced object needs its namespace.
        raise _unknown(group, version, rest)
    return _check_sub(rt, None, name, sub)


def _check_sub(rt: ResourceType, ns: str | None, name: str | None, sub: str) -> RequestInfo:
    if (
        sub
        and sub not in rt.subresources
        and not (rt.kind == "Pod" and rt.group == "" and sub in ("exec", "portforward", "attach"))
    ):
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
    if name == "":
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
    return RequestInfo(rt, ns, name, sub)
