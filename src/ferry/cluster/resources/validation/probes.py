"""Probes and lifecycle hooks of a container.

A liveness, readiness or startup probe is a handler (exactly one of ``exec``, ``httpGet``,
``tcpSocket``, ``grpc``) plus timing fields; a ``postStart`` / ``preStop`` hook is a handler of
``exec``, ``httpGet``, ``tcpSocket`` or ``sleep``. The ``sleep`` action is bounded by the pod's
``terminationGracePeriodSeconds``, which callers pass in as ``grace``.
"""

from __future__ import annotations

import re
from typing import Any

from ferry.cluster.apiserver.errors import FieldError, forbidden, invalid_value, not_supported, required
from ferry.cluster.resources.validation import common as c
from ferry.cluster.resources.validation.jsonread import Errs, child, dict_at, int_at, list_at, str_at
from ferry.cluster.resources.validation.podcommon import nonnegative, port_num_or_name

_HTTP_HEADER_RE = re.compile(r"[-A-Za-z0-9]+")


def _handler(
    handler: dict[str, Any], path: str, kinds: tuple[str, ...], grace: int | None
) -> list[FieldError]:
    errs: Errs = []
    count = 0
    for kind in kinds:
        if handler.get(kind) is None:
            continue
        hpath = child(path, kind)
        if count:
            errs.append(forbidden(hpath, "may not specify more than 1 handler type"))
            continue
        count += 1
        body = dict_at(handler, kind, path, errs)
        if kind == "exec" and not list_at(body, "command", hpath, errs):
            errs.append(required(child(hpath, "command")))
        elif kind == "httpGet":
            if not str_at(body, "path", hpath, errs):
                errs.append(required(child(hpath, "path")))
            errs.extend(port_num_or_name(body.get("port"), child(hpath, "port")))
            scheme = str_at(body, "scheme", hpath, errs)
            if scheme not in ("HTTP", "HTTPS"):
                errs.append(not_supported(child(hpath, "scheme"), scheme, ["HTTP", "HTTPS"]))
            for header in list_at(body, "httpHeaders", hpath, errs):
                hname = header.get("name", "") if isinstance(header, dict) else ""
                if not isinstance(hname, str) or not _HTTP_HEADER_RE.fullmatch(hname):
                    detail = c.regex_error(
                        "a valid HTTP header must consist of alphanumeric characters or '-'",
                        "[-A-Za-z0-9]+",
                        "X-Header-Name",
                    )
                    errs.append(invalid_value(child(hpath, "httpHeaders"), hname, detail))
        elif kind in ("tcpSocket", "grpc"):
            port = body.get("port")
            if kind == "grpc" and isinstance(port, str):
                errs.append(c.wrong_type(child(hpath, "port"), port, "integer"))
            else:
                errs.extend(port_num_or_name(port, child(hpath, "port")))
        elif kind == "sleep":
            seconds = int_at(body, "seconds", hpath, errs) or 0
            if grace is not None and not 0 < seconds <= grace:
                detail = (
                    f"must be greater than 0 and less than terminationGracePeriodSeconds ({grace}). "
                    "Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep."
                )
                errs.append(invalid_value(hpath, seconds, detail))
    if count == 0:
        errs.append(required(path, "must specify a handler type"))
    return errs


def validate_probe(probe: Any, path: str, *, kind: str, grace: int | None) -> list[FieldError]:
    """``kind`` is ``liveness``, ``readiness`` or ``startup``."""
    if probe is None:
        return []
    if not isinstance(probe, dict):
        return [c.wrong_type(path, probe, "object")]
    errs = _handler(probe, path, ("exec", "httpGet", "tcpSocket", "grpc"), grace)
    for name in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        errs.extend(nonnegative(int_at(probe, name, path, errs), child(path, name)))
    tgps = int_at(probe, "terminationGracePeriodSeconds", path, errs)
    if tgps is not None and tgps <= 0:
        errs.append(
            invalid_value(child(path, "terminationGracePeriodSeconds"), tgps, "must be greater than 0")
        )
    if kind in ("liveness", "startup"):
        success = int_at(probe, "successThreshold", path, [])
        if success is not None and success != 1:
            errs.append(invalid_value(child(path, "successThreshold"), success, "must be 1"))
    elif tgps is not None:
        detail = "must not be set for readinessProbes"
        errs.append(invalid_value(child(path, "terminationGracePeriodSeconds"), tgps, detail))
    return errs


def validate_lifecycle(lifecycle: dict[str, Any], path: str, grace: int | None) -> list[FieldError]:
    errs: Errs = []
    for hook in ("postStart", "preStop"):
        if lifecycle.get(hook) is not None:
            body = dict_at(lifecycle, hook, path, errs)
            errs.extend(_handler(body, child(path, hook), ("exec", "httpGet", "tcpSocket", "sleep"), grace))
    return errs
