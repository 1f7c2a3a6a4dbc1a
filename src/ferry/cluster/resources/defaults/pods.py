"""Defaults kube-apiserver v1.32 applies to pods and every embedded pod template.

Reproduces ``pkg/apis/core/v1/defaults.go`` plus the generated ``zz_generated.defaults.go``
walk (which calls the per-type functions on every nested struct), so ``kubectl get -o yaml``
on an embedded-cluster object shows the same fields a real cluster would.

Split, as upstream splits it:

* :func:`default_pod_spec` is ``SetDefaults_PodSpec`` + the nested walk: it runs for *every*
  PodSpec (Pod, PodTemplate, Deployment/ReplicaSet/StatefulSet/DaemonSet/Job/CronJob templates).
* :func:`default_pod` adds ``SetDefaults_Pod``, which only a real Pod gets: requests copied
  from limits, ``enableServiceLinks: true``, and hostPort = containerPort under hostNetwork.
  A Deployment template therefore shows no ``enableServiceLinks`` (as on a real cluster).

Serialization artifacts of Go structs that kubectl shows are materialized too, because they
are part of what users (and ``kubectl diff``) see: ``resources: {}`` on every container,
``metadata: {creationTimestamp: null}`` on templates, ``divisor: "0"`` on resourceFieldRef.
Resource quantities are rewritten to kube's canonical form (``1.5Gi`` → ``1536Mi``) and lists
rounded up to 1m (``SetDefaults_ResourceList``), exactly as a round trip through etcd does.

Invariants: idempotent (``default(default(x)) == default(x)``); a value of the wrong JSON type
is left untouched for validation to report; nothing here raises.
"""

from __future__ import annotations

import re
from typing import Any

from ferry.cluster.resources.quantity import QuantityError, parse_quantity
from ferry.cluster.resources.types import Defaulter, Obj

DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30
DEFAULT_SCHEDULER_NAME = "default-scheduler"
DEFAULT_FILE_MODE = 0o644  # 420: secret/configMap/downwardAPI/projected volumes
DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600

# distribution/reference grammar, enough to tell "no tag" from "tag" like ParseImageName.
_DOMAIN = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_RE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH}(?:/{_PATH})*)(?::(?P<tag>[\w][\w.-]{{0,127}}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
)
_DIGEST_HEX_LEN = {"sha256": 64, "sha384": 96, "sha512": 128}


def image_tag(image: str) -> str | None:
    """The tag ``parsers.ParseImageName`` reports: ``latest`` if none and no digest; None if unparsable."""
    if re.fullmatch(r"[a-f0-9]{64}", image):
        return None
    m = _IMAGE_RE.fullmatch(image)
    if m is None or len(m.group("name")) > 255:
        return None
    digest = m.group("digest")
    if digest:
        algo, _, hexpart = digest.partition(":")
        if _DIGEST_HEX_LEN.get(algo) != len(hexpart) or not re.fullmatch(r"[a-f0-9]+", hexpart):
            return None
    tag = m.group("tag")
    if tag:
        return tag
    return "" if digest else "latest"


def default_pull_policy(image: Any) -> str:
    """``Always`` for ``:latest`` or an untagged image, otherwise ``IfNotPresent``."""
    tag = image_tag(image) if isinstance(image, str) else None
    return "Always" if tag == "latest" else "IfNotPresent"


def set_default(obj: dict[str, Any], key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


def _set_if_zero(obj: dict[str, Any], key: str, value: int) -> None:
    if obj.get(key) is None or (obj.get(key) == 0 and not isinstance(obj.get(key), bool)):
        obj[key] = value


def dict_at(obj: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = obj.get(key)
    return value if isinstance(value, dict) else None


def dicts_at(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = obj.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def canonical_quantity_field(obj: dict[str, Any], key: str) -> None:
    """Rewrite ``obj[key]`` to kube's canonical spelling if it parses; leave it otherwise."""
    raw = obj.get(key)
    if raw is None:
        return
    try:
        obj[key] = parse_quantity(raw).canonical()
    except QuantityError:
        pass


def default_resource_list(rl: Any) -> None:
    """``SetDefaults_ResourceList``: round every quantity up to milli scale, canonical form."""
    if not isinstance(rl, dict):
        return
    for name, raw in list(rl.items()):
        try:
            rl[name] = parse_quantity(raw).round_up(-3).canonical()
        except QuantityError:
            continue


def _default_field_refs(holder: dict[str, Any]) -> None:
    field_ref = dict_at(holder, "fieldRef")
    if field_ref is not None and not field_ref.get("apiVersion"):
        field_ref["apiVersion"] = "v1"
    res_ref = dict_at(holder, "resourceFieldRef")
    if res_ref is not None:
        set_default(res_ref, "divisor", "0")
        canonical_quantity_field(res_ref, "divisor")


def default_handler(handler: Any) -> None:
    """Probe / lifecycle handler: ``httpGet`` path ``/`` and scheme ``HTTP``; ``grpc.service ""``."""
    if not isinstance(handler, dict):
        return
    http = dict_at(handler, "httpGet")
    if http is not None:
        if not http.get("path"):
            http["path"] = "/"
        if not http.get("scheme"):
            http["scheme"] = "HTTP"
    grpc = dict_at(handler, "grpc")
    if grpc is not None:
        set_default(grpc, "service", "")


def default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    _set_if_zero(probe, "timeoutSeconds", 1)
    _set_if_zero(probe, "periodSeconds", 10)
    _set_if_zero(probe, "successThreshold", 1)
    _set_if_zero(probe, "failureThreshold", 3)
    default_handler(probe)


def default_container(container: dict[str, Any]) -> None:
    """``SetDefaults_Container`` plus ports, env, probes, lifecycle and resources of one container."""
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = default_pull_policy(container.get("image"))
    if not container.get("terminationMessagePath"):
        container["terminationMessagePath"] = "/dev/termination-log"
    if not container.get("terminationMessagePolicy"):
        container["terminationMessagePolicy"] = "File"
    set_default(container, "resources", {})
    resources = dict_at(container, "resources")
    if resources is not None:
        default_resource_list(resources.get("limits"))
        default_resource_list(resources.get("requests"))
    for port in dicts_at(container, "ports"):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
    for env in dicts_at(container, "env"):
        value_from = dict_at(env, "valueFrom")
        if value_from is not None:
            _default_field_refs(value_from)
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        default_probe(container.get(key))
    lifecycle = dict_at(container, "lifecycle")
    if lifecycle is not None:
        default_handler(lifecycle.get("postStart"))
        default_handler(lifecycle.get("preStop"))


_VOLUME_SOURCES = [
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
]


def _default_downward_items(source: dict[str, Any]) -> None:
    for item in dicts_at(source, "items"):
        _default_field_refs(item)


def default_pvc_spec(spec: Any) -> None:
    """``SetDefaults_PersistentVolumeClaimSpec``: volumeMode Filesystem; storage requests canonical."""
    if not isinstance(spec, dict):
        return
    set_default(spec, "volumeMode", "Filesystem")
    resources = dict_at(spec, "resources")
    if resources is not None:
        default_resource_list(resources.get("requests"))
        default_resource_list(resources.get("limits"))


def default_volume(volume: dict[str, Any]) -> None:
    if not any(volume.get(k) is not None for k in _VOLUME_SOURCES):
        volume["emptyDir"] = {}
    if (empty := dict_at(volume, "emptyDir")) is not None:
        canonical_quantity_field(empty, "sizeLimit")
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        if (source := dict_at(volume, key)) is not None:
            set_default(source, "defaultMode", DEFAULT_FILE_MODE)
    if (downward := dict_at(volume, "downwardAPI")) is not None:
        _default_downward_items(downward)
    if (projected := dict_at(volume, "projected")) is not None:
        for src in dicts_at(projected, "sources"):
            if (token := dict_at(src, "serviceAccountToken")) is not None:
                set_default(token, "expirationSeconds", DEFAULT_TOKEN_EXPIRATION_SECONDS)
            if (downward := dict_at(src, "downwardAPI")) is not None:
                _default_downward_items(downward)
    if (host_path := dict_at(volume, "hostPath")) is not None:
        set_default(host_path, "type", "")
    if (iscsi := dict_at(volume, "iscsi")) is not None and not iscsi.get("iscsiInterface"):
        iscsi["iscsiInterface"] = "default"
    if (rbd := dict_at(volume, "rbd")) is not None:
        for key, value in (("pool", "rbd"), ("user", "admin"), ("keyring", "/etc/ceph/keyring")):
            if not rbd.get(key):
                rbd[key] = value
    if (azure := dict_at(volume, "azureDisk")) is not None:
        azure_defaults: dict[str, Any] = {"cachingMode": "ReadWrite", "kind": "Shared", "fsType": "ext4"}
        azure_defaults["readOnly"] = False
        for key, value in azure_defaults.items():
            set_default(azure, key, value)
    if (scale_io := dict_at(volume, "scaleIO")) is not None:
        for key, value in (("storageMode", "ThinProvisioned"), ("fsType", "xfs")):
            if not scale_io.get(key):
                scale_io[key] = value
    if (ephemeral := dict_at(volume, "ephemeral")) is not None:
        template = dict_at(ephemeral, "volumeClaimTemplate")
        if template is not None:
            default_template_metadata(template)
            default_pvc_spec(template.get("spec"))


def _all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return (
        dicts_at(spec, "initContainers")
        + dicts_at(spec, "containers")
        + dicts_at(spec, "ephemeralContainers")
    )


def default_pod_spec(spec: Any) -> None:
    """``SetDefaults_PodSpec`` and everything nested in it (containers, volumes, overhead)."""
    if not isinstance(spec, dict):
        return
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    set_default(spec, "securityContext", {})
    set_default(spec, "terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS)
    if not spec.get("schedulerName"):
        spec["schedulerName"] = DEFAULT_SCHEDULER_NAME
    for container in _all_containers(spec):
        default_container(container)
    for volume in dicts_at(spec, "volumes"):
        default_volume(volume)
    default_resource_list(spec.get("overhead"))


def default_template_metadata(template: dict[str, Any]) -> None:
    """A template's ObjectMeta always serializes ``creationTimestamp: null`` (kube 1.32)."""
    meta = template.get("metadata")
    if meta is None:
        template["metadata"] = {"creationTimestamp": None}
    elif isinstance(meta, dict) and "creationTimestamp" not in meta:
        meta["creationTimestamp"] = None


def default_pod_template_spec(template: Any) -> None:
    """A ``PodTemplateSpec`` (``spec.template`` of every workload)."""
    if not isinstance(template, dict):
        return
    default_template_metadata(template)
    set_default(template, "spec", {})
    default_pod_spec(template.get("spec"))


def _copy_limits_to_requests(container: dict[str, Any]) -> None:
    resources = dict_at(container, "resources")
    limits = dict_at(resources, "limits") if resources is not None else None
    if resources is None or limits is None:
        return
    if resources.get("requests") is None:
        resources["requests"] = {}
    requests = dict_at(resources, "requests")
    if requests is not None:
        for name, value in limits.items():
            requests.setdefault(name, value)


def default_pod(obj: Obj) -> None:
    """Defaulter for ``v1/Pod``: ``SetDefaults_Pod`` then the PodSpec walk."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    for container in dicts_at(spec, "containers") + dicts_at(spec, "initContainers"):
        _copy_limits_to_requests(container)
    set_default(spec, "enableServiceLinks", True)
    if spec.get("hostNetwork") is True:
        for container in dicts_at(spec, "containers") + dicts_at(spec, "initContainers"):
            for port in dicts_at(container, "ports"):
                if not port.get("hostPort") and isinstance(port.get("containerPort"), int):
                    port["hostPort"] = port["containerPort"]
    default_pod_spec(spec)


def default_pod_template(obj: Obj) -> None:
    """Defaulter for ``v1/PodTemplate`` (the object kind, whose ``template`` is a PodTemplateSpec)."""
    default_pod_template_spec(obj.get("template"))


DEFAULTERS: dict[tuple[str, str], Defaulter] = {
    ("", "Pod"): default_pod,
    ("", "PodTemplate"): default_pod_template,
}
