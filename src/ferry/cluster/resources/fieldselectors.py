"""Which ``?fieldSelector=`` fields each kind accepts, and the values objects have for them.

Two kube mechanisms, reproduced separately because they disagree at the edges:

* **Accepting a field** is the kind's *field label conversion function* (``pkg/apis/<group>/<v>/
  conversion.go``, ``AddFieldLabelConversionFunc``), run on every term of the selector before the
  list starts. A rejected term is a 400 whose text depends on the kind: most say
  ``field label not supported: <field>``, Jobs say ``field label "<field>" not supported for
  batchv1.Job``, and kinds without a conversion function (Deployments, ConfigMaps, Services...) accept
  only ``metadata.name``/``metadata.namespace`` and say ``"<field>" is not a known field selector:
  only "metadata.name", "metadata.namespace"``. Nodes and Namespaces do not accept
  ``metadata.namespace`` at all, and ``spec.host`` on Pods is an alias of ``spec.nodeName``.
  Note: apps/v1 registers no conversion, so ``status.replicas`` is *not* selectable on
  ReplicaSets (only the old extensions/v1beta1 API had it).
* **Matching** uses the kind's ``GetAttrs`` field set (``pkg/registry/<group>/<kind>/strategy.go``):
  :data:`FIELD_SELECTORS` holds, per kind, the extra accepted labels and an extractor producing the
  values as strings (``"true"``/``"false"`` for booleans, decimal for counts). A field the set lacks
  compares as ``""`` (kube accepts ``status.podIPs`` on Pods but never puts it in the set, so
  ``status.podIPs=x`` matches nothing; we expose it as ``""``, which is the same thing).

``events.k8s.io/v1`` Events accept their own names (``regarding.kind``, ``reportingController``...);
the extractor here reads an events.k8s.io-shaped object and reports those same names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ferry.cluster.apiserver.selectors import FieldSelector, SelectorError, go_quote
from ferry.cluster.resources.types import Obj

META = ("metadata.name", "metadata.namespace")


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _count(value: Any) -> str:
    return str(int(value)) if isinstance(value, int | float) and not isinstance(value, bool) else "0"


def _pod(obj: Obj) -> dict[str, str]:
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    ips = status.get("podIPs")
    first_ip = _s(status.get("podIP")) or (_s(_d(ips[0]).get("ip")) if isinstance(ips, list) and ips else "")
    return {
        "spec.nodeName": _s(spec.get("nodeName")),
        "spec.host": _s(spec.get("nodeName")),
        "spec.restartPolicy": _s(spec.get("restartPolicy")),
        "spec.schedulerName": _s(spec.get("schedulerName")),
        "spec.serviceAccountName": _s(spec.get("serviceAccountName")),
        "spec.hostNetwork": "true" if spec.get("hostNetwork") is True else "false",
        "status.phase": _s(status.get("phase")),
        "status.podIP": first_ip,
        "status.podIPs": "",
        "status.nominatedNodeName": _s(status.get("nominatedNodeName")),
    }


_REF = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")


def _event(obj: Obj) -> dict[str, str]:
    involved = _d(obj.get("involvedObject"))
    fields = {f"involvedObject.{k}": _s(involved.get(k)) for k in _REF}
    reporting = _s(obj.get("reportingComponent"))
    fields |= {
        "reason": _s(obj.get("reason")),
        "reportingComponent": reporting,
        "source": _s(_d(obj.get("source")).get("component")) or reporting,
        "type": _s(obj.get("type")),
    }
    return fields


def _event_v1(obj: Obj) -> dict[str, str]:
    regarding = _d(obj.get("regarding"))
    fields = {f"regarding.{k}": _s(regarding.get(k)) for k in _REF}
    fields |= {
        "reason": _s(obj.get("reason")),
        "reportingController": _s(obj.get("reportingController")),
        "type": _s(obj.get("type")),
    }
    return fields


FIELD_SELECTORS: dict[tuple[str, str], tuple[tuple[str, ...], Callable[[Obj], dict[str, str]]]] = {
    ("", "Pod"): (tuple(_pod({})), _pod),
    ("", "Event"): (tuple(_event({})), _event),
    ("events.k8s.io", "Event"): (tuple(_event_v1({})), _event_v1),
    ("", "Secret"): (("type",), lambda o: {"type": _s(o.get("type"))}),
    ("", "Namespace"): (("status.phase",), lambda o: {"status.phase": _s(_d(o.get("status")).get("phase"))}),
    ("", "Node"): (
        ("spec.unschedulable",),
        lambda o: {
            "spec.unschedulable": "true" if _d(o.get("spec")).get("unschedulable") is True else "false"
        },
    ),
    ("", "ReplicationController"): (
        ("status.replicas",),
        lambda o: {"status.replicas": _count(_d(o.get("status")).get("replicas"))},
    ),
    ("batch", "Job"): (
        ("status.successful",),
        lambda o: {"status.successful": _count(_d(o.get("status")).get("succeeded"))},
    ),
    ("certificates.k8s.io", "CertificateSigningRequest"): (
        ("spec.signerName",),
        lambda o: {"spec.signerName": _s(_d(o.get("spec")).get("signerName"))},
    ),
}

# Kinds whose conversion function does not accept both metadata fields (cluster-scoped, hand-written).
_META_ACCEPTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "Node"): ("metadata.name",),
    ("", "Namespace"): ("metadata.name",),
    ("certificates.k8s.io", "CertificateSigningRequest"): ("metadata.name",),
}
_ALIASES: dict[tuple[str, str], dict[str, str]] = {("", "Pod"): {"spec.host": "spec.nodeName"}}


def accepted_fields(group: str, kind: str) -> frozenset[str]:
    """Every field label the kind's conversion function lets through."""
    extra = FIELD_SELECTORS.get((group, kind), ((), None))[0]
    return frozenset(_META_ACCEPTED.get((group, kind), META)) | frozenset(extra)


def object_fields(group: str, kind: str, obj: Obj) -> dict[str, str]:
    """The object's selectable fields: ``metadata.name``, ``metadata.namespace`` and the kind's own."""
    meta = _d(obj.get("metadata"))
    fields = {"metadata.name": _s(meta.get("name")), "metadata.namespace": _s(meta.get("namespace"))}
    entry = FIELD_SELECTORS.get((group, kind))
    if entry is not None:
        fields.update(entry[1](obj))
    return fields


def unsupported_field_message(field: str, *, group: str | None = None, kind: str | None = None) -> str:
    """kube's 400 text for a field the kind does not accept (the generic form when no kind is given)."""
    if kind is None or (group or "", kind) in FIELD_SELECTORS:
        if (group, kind) == ("batch", "Job"):
            return f"field label {go_quote(field)} not supported for batchv1.Job"
        return f"field label not supported: {field}"
    return f'{go_quote(field)} is not a known field selector: only "metadata.name", "metadata.namespace"'


def convert_field_selector(group: str, kind: str, selector: FieldSelector) -> FieldSelector:
    """Validate every term for the kind and resolve aliases, like the apiserver's ``ConvertFieldLabel``.

    Raises :class:`SelectorError` with the kind's message for the first rejected term.
    """
    accepted = accepted_fields(group, kind)
    aliases = _ALIASES.get((group, kind), {})
    out: list[tuple[str, str, str]] = []
    for field, op, value in selector.requirements:
        if field not in accepted:
            raise SelectorError(unsupported_field_message(field, group=group, kind=kind))
        out.append((aliases.get(field, field), op, value))
    return FieldSelector(tuple(out))
