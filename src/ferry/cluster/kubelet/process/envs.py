"""A container's environment as the kubelet resolves it: ``env`` with ``valueFrom``, ``envFrom``, services.

Order and precedence follow kubelet's ``makeEnvironmentVariables``: the Service variables of the pod's namespace
(when ``enableServiceLinks``) first, then ``envFrom`` sources in order (a ``prefix`` prepended; keys that are not
valid variable names skipped), then ``env`` in order, each overriding earlier values of the same name;
``$(VAR)`` in ``env[].value`` expands from what is defined before it. ``valueFrom``:

* ``fieldRef``: metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'],
  metadata.annotations['k'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.podIP,
  status.podIPs, status.hostIPs;
* ``resourceFieldRef``: limits/requests.cpu (cores, rounded up, with ``divisor``), limits/requests.memory
  (bytes / divisor, rounded up); an unset limit is the node's allocatable, as kubelet does;
* ``configMapKeyRef`` / ``secretKeyRef``: fetched through the :class:`Lookup` (``optional`` honoured).

A missing required source raises :class:`EnvError` (kubelet: ``CreateContainerConfigError``).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.kubelet.runtime.spec import expand
from ferry.cluster.network import service_env

Lookup = Callable[[str, str, str], Awaitable[Obj | None]]  # (resource, namespace, name) -> object or None
_VALID = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class EnvError(Exception):
    """The environment cannot be built (a missing ConfigMap/Secret/key, a bad fieldPath)."""


def parse_quantity(value: Any) -> float:
    """A resource quantity as a number (cpu in cores, memory in bytes)."""
    text = str(value).strip()
    suffixes: dict[str, float] = {
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "Pi": 2**50,
        "Ei": 2**60,
    }
    suffixes |= {
        "n": 1e-9,
        "u": 1e-6,
        "m": 1e-3,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
        "P": 1e15,
        "E": 1e18,
    }
    for suffix in sorted(suffixes, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * suffixes[suffix]
    return float(text)


def field_value(pod: Obj, path: str) -> str:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    if m := _SUBSCRIPT.match(path):
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
        "status.podIPs": ",".join(str(i.get("ip")) for i in status.get("podIPs") or []),
        "status.hostIPs": ",".join(str(i.get("ip")) for i in status.get("hostIPs") or []),
    }
    if path in simple:
        return str(simple[path] or "")
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    raise EnvError(f"unsupported fieldPath {path!r}")


def resource_value(container: Obj, ref: Obj, allocatable: dict[str, str]) -> str:
    resource = str(ref.get("resource", ""))
    kind, _, name = resource.partition(".")
    res = container.get("resources") or {}
    raw = (res.get(kind) or {}).get(name)
    if raw is None and kind == "requests":
        raw = (res.get("limits") or {}).get(name)
    if raw is None:
        raw = allocatable.get(name, "0") if kind == "limits" else "0"
    divisor = parse_quantity(ref.get("divisor") or "1")
    if divisor <= 0:
        raise EnvError(f"bad divisor for {resource}")
    return str(max(0, math.ceil(parse_quantity(raw) / divisor - 1e-9)))


async def _source(lookup: Lookup, kind: str, ns: str, ref: Obj) -> Obj | None:
    obj = await lookup("v1/configmaps" if kind == "configMap" else "v1/secrets", ns, str(ref.get("name", "")))
    if obj is None and not ref.get("optional"):
        raise EnvError(f'{kind} "{ref.get("name")}" not found')
    return obj


def _data(kind: str, obj: Obj) -> dict[str, str]:
    if kind == "secret":
        return {k: base64.b64decode(v).decode(errors="replace") for k, v in (obj.get("data") or {}).items()}
    return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}


async def container_env(
    pod: Obj,
    container: Obj,
    lookup: Lookup,
    *,
    services: list[Obj],
    allocatable: dict[str, str],
) -> list[tuple[str, str]]:
    """The container's resolved environment, in order (see the module docstring)."""
    ns = str((pod.get("metadata") or {}).get("namespace", "default"))
    env: dict[str, str] = {}
    if (pod.get("spec") or {}).get("enableServiceLinks", True) is not False:
        env.update(service_env(services, namespace=ns))
    for src in container.get("envFrom") or []:
        kind = "configMap" if "configMapRef" in src else "secret"
        ref = src.get("configMapRef") or src.get("secretRef") or {}
        obj = await _source(lookup, kind, ns, ref)
        for k, v in _data(kind, obj or {}).items():
            name = str(src.get("prefix") or "") + k
            if _VALID.match(name):
                env[name] = v
    for var in container.get("env") or []:
        name, vf = str(var["name"]), var.get("valueFrom")
        if vf is None:
            env[name] = expand(str(var.get("value") or ""), env)
        elif "fieldRef" in vf:
            env[name] = field_value(pod, str(vf["fieldRef"].get("fieldPath", "")))
        elif "resourceFieldRef" in vf:
            env[name] = resource_value(container, vf["resourceFieldRef"], allocatable)
        else:
            kind = "configMap" if "configMapKeyRef" in vf else "secret"
            ref = vf.get("configMapKeyRef") or vf.get("secretKeyRef") or {}
            data = _data(kind, await _source(lookup, kind, ns, ref) or {})
            key = str(ref.get("key", ""))
            if key in data:
                env[name] = data[key]
            elif not ref.get("optional"):
                raise EnvError(f"couldn't find key {key} in {kind} {ns}/{ref.get('name')}")
    return list(env.items())
