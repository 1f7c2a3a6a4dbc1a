"""Shared pieces of the Table printers: the Name/Age columns, safe field access, kube's cell formats.

kube's printers run on typed Go structs, where a missing field is simply its zero value (``""``,
``0``, nil). Our objects are JSON dicts that may lack any key or hold the wrong type, so every
printer reads through :func:`d`, :func:`lst`, :func:`s` and :func:`n`, which turn "absent" and
"malformed" into Go's zero values. A printer must never raise on a stored object: one bad object
would otherwise fail the whole ``kubectl get`` list.

Cell types matter: kube sends Go ``int64`` cells as JSON numbers and strings as strings, and
kubectl prints them verbatim, so each printer returns exactly the Python ``int``/``str``/``bool``
kube's does (e.g. Deployment ``UP-TO-DATE`` is a number although its column says ``string``).

The API server always prints with ``Wide: true`` (``pkg/printers/storage``); kubectl drops the
``priority: 1`` columns itself unless ``-o wide``. So every row carries the wide cells too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ferry.cluster.apiserver.selectors import SelectorError, label_selector_from_object
from ferry.cluster.resources.printers.descriptions import DOC
from ferry.cluster.resources.printers.duration import since
from ferry.cluster.resources.types import Column, Obj

Printer = tuple[tuple[Column, ...], Callable[[Obj, datetime], list[Any]]]


def d(value: Any) -> dict[str, Any]:
    """A JSON object, or ``{}``."""
    return value if isinstance(value, dict) else {}


def lst(value: Any) -> list[Any]:
    """A JSON array, or ``[]``."""
    return value if isinstance(value, list) else []


def s(value: Any) -> str:
    """A JSON string, or ``""``."""
    return value if isinstance(value, str) else ""


def n(value: Any, default: int = 0) -> int:
    """A JSON integer (bools are not), or ``default``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


def meta(obj: Obj) -> dict[str, Any]:
    return d(obj.get("metadata"))


def name(obj: Obj) -> str:
    return s(meta(obj).get("name"))


def age(obj: Obj, now: datetime) -> str:
    return since(meta(obj).get("creationTimestamp"), now)


def col(title: str, doc: str, *, type: str = "string", priority: int = 0, format: str = "") -> Column:
    """A column whose description is a swagger doc key (``"Type.field"``) or literal text."""
    return Column(title, type, format, DOC.get(doc, doc), priority)


NAME = Column("Name", "string", "name", DOC["ObjectMeta.name"], 0)
AGE = col("Age", "ObjectMeta.creationTimestamp")
CONTAINERS = col("Containers", "Names of each container in the template.", priority=1)
IMAGES = col("Images", "Images referenced by each container in the template.", priority=1)


def containers(pod_spec: Any) -> tuple[str, str]:
    """``layoutContainerCells``: container names and images, comma-joined."""
    items = [d(c) for c in lst(d(pod_spec).get("containers"))]
    return ",".join(s(c.get("name")) for c in items), ",".join(s(c.get("image")) for c in items)


def template_spec(obj: Obj) -> dict[str, Any]:
    """``spec.template.spec`` of a workload."""
    return d(d(d(obj.get("spec")).get("template")).get("spec"))


def format_labels(labels: Any) -> str:
    """``labels.FormatLabels``: the ``k=v`` strings sorted (as strings, not by key); ``<none>`` if empty."""
    return (
        ",".join(sorted(f"{k}={v if isinstance(v, str) else ''}" for k, v in d(labels).items())) or "<none>"
    )


def selector_string(selector: Any) -> str:
    """``LabelSelectorAsSelector(sel).String()``: ``""`` for nil/empty, ``<invalid>`` on error."""
    try:
        return str(label_selector_from_object(selector if isinstance(selector, dict) else None))
    except SelectorError:
        return "<invalid>"


def format_label_selector(selector: Any) -> str:
    """``metav1.FormatLabelSelector``: like :func:`selector_string` but ``<none>`` / ``<error>``."""
    try:
        text = str(label_selector_from_object(selector if isinstance(selector, dict) else None))
    except SelectorError:
        return "<error>"
    return text or "<none>"


def condition_true(conditions: Any, kind: str) -> bool:
    """The first condition of type ``kind`` has status ``True`` (kube's ``hasJobCondition`` etc.)."""
    for c in lst(conditions):
        if d(c).get("type") == kind:
            return d(c).get("status") == "True"
    return False


def more_list(items: list[str], *, more: bool, count: int, limit: int = 3, empty: str = "<unset>") -> str:
    """``listWithMoreString``: ``a,b,c + 2 more...``."""
    text = ",".join(items)
    if more:
        return f"{text} + {count - limit} more..."
    return text or empty


def lb_ingress(status: Any) -> str:
    """``loadBalancerStatusStringer`` (wide): the sorted set of ingress IPs/hostnames, comma-joined."""
    found: set[str] = set()
    for ing in lst(d(d(status).get("loadBalancer")).get("ingress")):
        ip, host = s(d(ing).get("ip")), s(d(ing).get("hostname"))
        if ip or host:
            found.add(ip or host)
    return ",".join(sorted(found))
