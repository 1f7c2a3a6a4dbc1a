"""Config propagation: a ConfigMap or Secret change rolls the pods that use it (story 6, "the ConfigMap illusion").

Kubernetes restarts pods only when a workload's ``.spec.template`` changes; editing a ConfigMap the pods read
through ``envFrom`` changes nothing running. Helm's documented answer is an idiom each chart author adds by
hand::

    annotations:
      checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}

It hashes the *rendered text of a template file* (labels and all, so a chart version bump rolls pods too), covers
only the files the author remembered to list, and silently stops working when a template is renamed.

ferry does it for every chart, after rendering, from the objects themselves. For each Deployment,
StatefulSet, DaemonSet and Job pod template, every ConfigMap and Secret it references, through

    containers[*] / initContainers[*]  .env[*].valueFrom.configMapKeyRef / .secretKeyRef
                                       .envFrom[*].configMapRef / .secretRef
    volumes[*]                         .configMap.name / .secret.secretName
                                       .projected.sources[*].configMap / .secret

and that the *same render* produces (same namespace, kind and name), gets one pod-template annotation

    checksum.ferry.dev/<kind-lower>-<name>: sha256(canonical JSON of {data, binaryData, stringData})

Canonical JSON = keys sorted, no whitespace, UTF-8; empty or absent fields are left out. So only the content a
pod can read moves the checksum: a new label on the ConfigMap does not roll pods, a changed value does, and
the diff shows *which* object caused the roll. Objects the release does not render (created by hand, by
another release, or an operator) get no annotation: their content is not known at render time.
Names longer than an annotation key allows (63 characters after the prefix) are cut and suffixed with
8 hex digits of their sha256, so keys stay unique and valid.

Caveats: a Job's pod template is immutable, so a changed checksum on an existing Job needs the Job replaced
(as any other template change of a Job would). ``imagePullSecrets`` and the ServiceAccount token are not
covered (they do not change what a running container reads). The function is idempotent: running it twice
gives the same annotations and the same list of changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANNOTATION_PREFIX",
    "WORKLOAD_KINDS",
    "Change",
    "ObjectRef",
    "add_config_checksums",
    "config_checksum",
]

ANNOTATION_PREFIX = "checksum.ferry.dev/"
#: (API group, kind) of the workloads whose ``spec.template`` is a pod template ferry annotates.
WORKLOAD_KINDS: frozenset[tuple[str, str]] = frozenset(
    {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("batch", "Job")}
)
_CONFIG_KINDS = frozenset({"ConfigMap", "Secret"})
_CONTENT_FIELDS = ("data", "binaryData", "stringData")
_NAME_MAX = 63


@dataclass(frozen=True, order=True)
class ObjectRef:
    """An object of the render: ``kind``, ``namespace`` (``""`` when cluster-scoped or unset), ``name``."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return (
            f"{self.kind}/{self.name}" if not self.namespace else f"{self.kind}/{self.namespace}/{self.name}"
        )


@dataclass(frozen=True)
class Change:
    """One annotation ferry put on a workload's pod template, and the object whose content it hashes.

    ``previous`` is the value the template carried before (``None`` when the key was new), so a re-run over
    objects that already carry the annotation is visible as a no-op.
    """

    workload: ObjectRef
    annotation: str
    value: str
    reference: ObjectRef
    previous: str | None = None

    def __str__(self) -> str:
        return f"{self.workload}: {self.annotation}={self.value[:12]}… (content of {self.reference})"


def config_checksum(obj: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of the object's data/binaryData/stringData."""
    content = {key: obj[key] for key in _CONTENT_FIELDS if obj.get(key)}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def annotation_key(kind: str, name: str) -> str:
    """``checksum.ferry.dev/<kind-lower>-<name>``, with an over-long name cut and suffixed by its hash."""
    local = f"{kind.lower()}-{name}"
    if len(local) > _NAME_MAX:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        local = local[: _NAME_MAX - 9].rstrip("-.") + "-" + digest
    return ANNOTATION_PREFIX + local


def add_config_checksums(objects: Iterable[dict[str, Any]]) -> list[Change]:
    """Annotate every workload pod template with the checksum of each rendered config object it uses.

    Mutates the pod templates in *objects* in place; returns the changes in workload order, then annotation
    key order. Objects that are not workloads, and references to objects absent from *objects*, are untouched.
    """
    objs = list(objects)
    configs: dict[ObjectRef, Mapping[str, Any]] = {}
    for obj in objs:
        if obj.get("apiVersion") == "v1" and obj.get("kind") in _CONFIG_KINDS:
            configs[_ref(obj)] = obj
    changes: list[Change] = []
    for obj in objs:
        template = _pod_template(obj)
        if template is None:
            continue
        workload = _ref(obj)
        found: dict[str, tuple[ObjectRef, str]] = {}
        for kind, name in _references(template.get("spec") or {}):
            target = ObjectRef(kind, workload.namespace, name)
            if target in configs:
                found[annotation_key(kind, name)] = (target, config_checksum(configs[target]))
        if not found:
            continue
        meta = template.setdefault("metadata", {})
        if not isinstance(meta.get("annotations"), dict):
            meta["annotations"] = {}
        annotations: dict[str, Any] = meta["annotations"]
        for key in sorted(found):
            target, value = found[key]
            previous = annotations.get(key)
            annotations[key] = value
            changes.append(
                Change(workload, key, value, target, previous if isinstance(previous, str) else None)
            )
    return changes


def _ref(obj: Mapping[str, Any]) -> ObjectRef:
    meta = obj.get("metadata") or {}
    return ObjectRef(str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))


def _pod_template(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    if (group, obj.get("kind")) not in WORKLOAD_KINDS:
        return None
    template = (obj.get("spec") or {}).get("template")
    return template if isinstance(template, dict) else None


def _references(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(kind, name) of every ConfigMap/Secret the pod spec reads, in spec order (duplicates allowed)."""
    for field in ("initContainers", "containers"):
        for container in _dicts(pod_spec.get(field)):
            for env in _dicts(container.get("env")):
                source = env.get("valueFrom") or {}
                yield from _named(source.get("configMapKeyRef"), "ConfigMap", "name")
                yield from _named(source.get("secretKeyRef"), "Secret", "name")
            for env_from in _dicts(container.get("envFrom")):
                yield from _named(env_from.get("configMapRef"), "ConfigMap", "name")
                yield from _named(env_from.get("secretRef"), "Secret", "name")
    for volume in _dicts(pod_spec.get("volumes")):
        yield from _named(volume.get("configMap"), "ConfigMap", "name")
        yield from _named(volume.get("secret"), "Secret", "secretName")
        for source in _dicts((volume.get("projected") or {}).get("sources")):
            yield from _named(source.get("configMap"), "ConfigMap", "name")
            yield from _named(source.get("secret"), "Secret", "name")


def _named(ref: Any, kind: str, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(ref, Mapping) and isinstance(ref.get(key), str) and ref[key]:
        yield kind, ref[key]


def _dicts(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, Mapping))
