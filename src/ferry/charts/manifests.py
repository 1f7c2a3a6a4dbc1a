"""From the engine's ``{template path: text}`` to plain Kubernetes objects, the way Helm sorts its output.

Rules, each taken from Helm's ``releaseutil.SortManifests`` unless marked *ferry*:

* Templates are read in path order (the engine returns a map; Helm sorts its keys too), documents in file
  order. Partials (``_*.tpl``) never reach us; files and documents that are empty or only comments are dropped.
* ``NOTES.txt`` of the top chart is the release notes; subcharts' notes are dropped (Helm prints them only with
  ``--render-subchart-notes``).
* A document whose ``metadata.annotations`` carry ``helm.sh/hook`` is a hook. ferry does **not** run hooks in
  this version (no pre-install Jobs, no test pods): they are returned apart in `Rendered.hooks`, never applied.
* *ferry*: a ``v1 List`` document is flattened into its items, as kubectl and Argo CD do.
* *ferry*: objects of a namespaced kind get ``metadata.namespace`` = the release namespace when the template
  left it out (``helm install`` does the same at apply time, through the client's default namespace). A kind is
  cluster-scoped when it is in the built-in table below or defined ``scope: Cluster`` by a CRD of the same
  render; any other kind (including custom resources of unknown CRDs) is taken as namespaced.
* *ferry*: files in the chart's ``crds/`` come first, as ``helm install`` applies them before the templates
  (Argo CD's ``--include-crds``). Helm never upgrades CRDs; whoever applies them decides.

YAML is parsed with PyYAML's safe loader minus timestamp resolution: ``date: 2024-01-01`` stays a string, as it
does when Go's sigs.k8s.io/yaml turns the same text into JSON for the API server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ferry.charts.errors import TemplateError

__all__ = [
    "CLUSTER_SCOPED",
    "HOOK_ANNOTATION",
    "Split",
    "YamlLoader",
    "fill_namespaces",
    "is_hook",
    "split_files",
]

HOOK_ANNOTATION = "helm.sh/hook"

#: Built-in cluster-scoped kinds, by (API group, kind). Everything else built in is namespaced.
CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("authentication.k8s.io", "TokenReview"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
    }
)


class YamlLoader(yaml.SafeLoader):
    """SafeLoader that leaves timestamps as strings (Kubernetes YAML is JSON underneath)."""


YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Split:
    """The parsed output of one render, before namespaces are filled."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""
    sources: list[str] = field(default_factory=list)  # template path of each object, same order


def split_files(
    files: Mapping[str, str], *, chart_name: str, crds: Iterable[Mapping[str, str]] = ()
) -> Split:
    """Parse every rendered template (and the chart's CRD files) into objects, hooks and notes."""
    out = Split()
    for crd in crds:
        _add_documents(out, crd.get("filename") or crd.get("name") or "crds", crd.get("data", ""))
    notes_path = f"{chart_name}/templates/NOTES.txt"
    for path in sorted(files):
        text = files[path]
        if path.endswith("NOTES.txt"):
            if path == notes_path:
                out.notes = text
            continue
        _add_documents(out, path, text)
    return out


def _add_documents(out: Split, path: str, text: str) -> None:
    if not text.strip():
        return
    try:
        documents = list(yaml.load_all(text, Loader=YamlLoader))  # a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(err, "problem", None) or str(err)
        raise TemplateError(f"template {where}: rendered output is not valid YAML: {problem}")
    for doc in documents:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise TemplateError(f"template {path}: rendered a {type(doc).__name__}, not a Kubernetes object")
        for obj in _flatten(doc, path):
            if is_hook(obj):
                out.hooks.append(obj)
            else:
                out.objects.append(obj)
                out.sources.append(path)


def _flatten(doc: dict[str, Any], path: str) -> list[dict[str, Any]]:
    if doc.get("kind") == "List" and doc.get("apiVersion") == "v1" and isinstance(doc.get("items"), list):
        items: list[dict[str, Any]] = []
        for item in doc["items"]:
            items.extend(_flatten(item, path) if isinstance(item, dict) else [])
        return items
    if not isinstance(doc.get("kind"), str) or not isinstance(doc.get("apiVersion"), str):
        raise TemplateError(f"template {path}: an object without apiVersion and kind: {_preview(doc)}")
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        raise TemplateError(f"template {path}: {doc['kind']} without metadata.name")
    return [doc]


def is_hook(obj: Mapping[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return isinstance(annotations, Mapping) and HOOK_ANNOTATION in annotations


def fill_namespaces(
    objects: Iterable[dict[str, Any]], namespace: str, *, also_cluster: Iterable[Mapping[str, Any]] = ()
) -> None:
    """Set ``metadata.namespace`` on namespaced objects that have none (mutates in place)."""
    objs = list(objects)
    scoped = set(CLUSTER_SCOPED) | _crd_cluster_kinds([*objs, *also_cluster])
    for obj in objs:
        if (_group(obj), obj.get("kind")) in scoped:
            continue
        meta = obj["metadata"]
        if not meta.get("namespace"):
            meta["namespace"] = namespace


def _crd_cluster_kinds(objects: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind")
        if spec.get("scope") == "Cluster" and isinstance(kind, str):
            found.add((str(spec.get("group", "")), kind))
    return found


def _group(obj: Mapping[str, Any]) -> str:
    api_version = str(obj.get("apiVersion", ""))
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _preview(doc: Mapping[str, Any]) -> str:
    keys = ", ".join(sorted(map(str, doc))[:5])
    return f"{{{keys}}}"
