"""Validation of core/v1 Event and events.k8s.io/v1 Event (``pkg/apis/core/validation/events.go``).

Both API versions are views of one internal Event, and kube validates the internal form, so the
paths in errors use the internal (core/v1) names even for events.k8s.io/v1 objects:
``involvedObject`` for ``regarding``, ``message`` for ``note``, ``count`` for ``deprecatedCount``,
``firstTimestamp``/``lastTimestamp``/``source`` for the ``deprecated*`` fields, and
``reportingController`` for core/v1's ``reportingComponent``. We map the JSON names to those paths.

Rules: every Event passes the *legacy* checks (namespace agreement; for events with an
``eventTime``: reportingController, reportingInstance, action and reason required, length caps).
Events created or updated through events.k8s.io/v1 also get the strict checks: ``eventTime``
required, ``type`` Normal|Warning, the deprecated fields unset on create, a valid ``series``, and
on update almost every field immutable.
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.errors import FieldError, invalid_value, required
from ferry.cluster.resources.types import Obj, Validator
from ferry.cluster.resources.validation.common import IMMUTABLE, is_dns1123_subdomain, is_qualified_name
from ferry.cluster.resources.validation.jsonread import Errs, as_dict, as_str, dict_at, int_at, str_at

REPORTING_INSTANCE_LIMIT = 128
ACTION_LIMIT = 128
REASON_LIMIT = 128
NOTE_LIMIT = 1024

# internal name -> events.k8s.io/v1 JSON field
_V1_FIELDS = {
    "involvedObject": "regarding",
    "message": "note",
    "count": "deprecatedCount",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "source": "deprecatedSource",
}


def _view(obj: Obj, events_api: bool) -> dict[str, Any]:
    """The event's fields under their internal names."""
    view = dict(obj)
    if events_api:
        for internal, external in _V1_FIELDS.items():
            view[internal] = obj.get(external)
    else:
        view["reportingController"] = obj.get("reportingComponent")
    return view


def _legacy(ev: dict[str, Any], namespace: str, errs: Errs) -> None:
    involved = dict_at(ev, "involvedObject", "", errs)
    involved_ns = str_at(involved, "namespace", "involvedObject", errs)
    mismatch = "does not match event.namespace"
    if not ev.get("eventTime"):
        if not involved_ns:
            if namespace not in ("", "default"):
                errs.append(invalid_value("involvedObject.namespace", involved_ns, mismatch))
        elif namespace != involved_ns:
            errs.append(invalid_value("involvedObject.namespace", involved_ns, mismatch))
    else:
        if not involved_ns and namespace not in ("default", "kube-system"):
            errs.append(invalid_value("involvedObject.namespace", involved_ns, mismatch))
        controller = str_at(ev, "reportingController", "", errs)
        if not controller:
            errs.append(required("reportingController"))
        errs.extend(
            invalid_value("reportingController", controller, m) for m in is_qualified_name(controller)
        )
        for name, limit in (("reportingInstance", REPORTING_INSTANCE_LIMIT), ("action", ACTION_LIMIT)):
            value = str_at(ev, name, "", errs)
            if not value:
                errs.append(required(name))
            if len(value) > limit:
                errs.append(invalid_value(name, "", f"can have at most {limit} characters"))
        reason = str_at(ev, "reason", "", errs)
        if not reason:
            errs.append(required("reason"))
        if len(reason) > REASON_LIMIT:
            errs.append(invalid_value("reason", "", f"can have at most {REASON_LIMIT} characters"))
        if len(str_at(ev, "message", "", errs)) > NOTE_LIMIT:
            errs.append(invalid_value("message", "", f"can have at most {NOTE_LIMIT} characters"))
    errs.extend(invalid_value("namespace", namespace, m) for m in is_dns1123_subdomain(namespace))


def _series(ev: dict[str, Any], errs: Errs) -> None:
    series = ev.get("series")
    if not isinstance(series, dict):
        return
    count = int_at(series, "count", "series", errs)
    if count is None or count < 2:
        errs.append(invalid_value("series.count", "", "should be at least 2"))
    if not series.get("lastObservedTime"):
        errs.append(required("series.lastObservedTime"))


def _strict_create(ev: dict[str, Any], errs: Errs) -> None:
    _series(ev, errs)
    if not ev.get("eventTime"):
        errs.append(required("eventTime"))
    event_type = ev.get("type") if isinstance(ev.get("type"), str) else ""
    if event_type not in ("Normal", "Warning"):
        errs.append(invalid_value("type", "", f"has invalid value: {event_type}"))
    for name in ("firstTimestamp", "lastTimestamp"):
        if ev.get(name):
            errs.append(invalid_value(name, "", "needs to be unset"))
    if ev.get("count"):
        errs.append(invalid_value("count", "", "needs to be unset"))
    source = ev.get("source")
    if isinstance(source, dict) and (source.get("component") or source.get("host")):
        errs.append(invalid_value("source", "", "needs to be unset"))


_IMMUTABLE_FIELDS = (
    "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count",
    "reason", "type", "eventTime", "action", "related", "reportingController", "reportingInstance",
)  # fmt: skip


def _strict_update(ev: dict[str, Any], old: dict[str, Any], errs: Errs) -> None:
    if ev.get("series") != old.get("series"):
        _series(ev, errs)
    for name in _IMMUTABLE_FIELDS:
        if (ev.get(name) or None) != (old.get(name) or None):
            errs.append(invalid_value(name, ev.get(name) if ev.get(name) is not None else "", IMMUTABLE))


def _make(events_api: bool) -> Validator:
    def validate(obj: Obj, old: Obj | None) -> list[FieldError]:
        errs: Errs = []
        ev = _view(obj, events_api)
        namespace = as_str(as_dict(obj.get("metadata")).get("namespace"))
        _legacy(ev, namespace, errs)
        if events_api:
            if old is None:
                _strict_create(ev, errs)
            else:
                _strict_update(ev, _view(old, events_api), errs)
        return errs

    return validate


validate_core_event = _make(events_api=False)
validate_events_event = _make(events_api=True)

VALIDATORS: dict[tuple[str, str], Validator] = {
    ("", "Event"): validate_core_event,
    ("events.k8s.io", "Event"): validate_events_event,
}

__all__ = ["VALIDATORS", "validate_core_event", "validate_events_event"]
