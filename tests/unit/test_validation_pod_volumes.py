"""Pod volumes and volume mounts: unique names, exactly one source, mounts reference declared volumes."""

from __future__ import annotations

from typing import Any

from ferry.cluster.resources.defaults.pods import default_pod
from ferry.cluster.resources.validation.pods import validate_pod

C0 = "spec.containers[0]"


def errors(volumes: list[Any], mounts: list[Any] | None = None) -> list[str]:
    ctr: dict[str, Any] = {"name": "app", "image": "nginx:1.27", "volumeMounts": mounts or []}
    obj: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {"containers": [ctr], "volumes": volumes}}
    default_pod(obj)
    return [e.error() for e in validate_pod(obj, None)]


def test_valid_volumes_and_mounts() -> None:
    volumes = [
        {"name": "cfg", "configMap": {"name": "app-config"}},
        {"name": "tmp"},  # defaulted to emptyDir
        {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
    ]
    mounts = [{"name": "cfg", "mountPath": "/etc/app"}, {"name": "tmp", "mountPath": "/tmp", "subPath": "x"}]
    assert errors(volumes, mounts) == []


def test_volume_names_unique_dns_labels() -> None:
    volumes = [{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}, {"name": "", "emptyDir": {}}]
    assert errors(volumes) == [
        'spec.volumes[1].name: Duplicate value: "a"',
        "spec.volumes[2].name: Required value",
    ]


def test_exactly_one_volume_source() -> None:
    volumes = [
        {"name": "two", "emptyDir": {}, "secret": {"secretName": "s"}, "downwardAPI": {}},
        {"name": "three", "hostPath": {"path": "/x"}, "cephfs": {"monitors": ["m"]}},
    ]
    assert errors(volumes) == [
        "spec.volumes[0].secret: Forbidden: may not specify more than 1 volume type",
        # kube misspells these two paths; kubectl shows them verbatim.
        "spec.volumes[0].downwarAPI: Forbidden: may not specify more than 1 volume type",
        "spec.volumes[1].cephFS: Forbidden: may not specify more than 1 volume type",
    ]


def test_source_required_fields() -> None:
    volumes = [
        {"name": "s", "secret": {"defaultMode": 1000}},
        {"name": "c", "configMap": {"items": [{"key": "", "path": "../x"}]}},
        {"name": "p", "persistentVolumeClaim": {}},
        {"name": "h", "hostPath": {"path": "/a/../b", "type": "Weird"}},
        {"name": "n", "nfs": {"server": "nfs", "path": "rel"}},
    ]
    assert errors(volumes) == [
        "spec.volumes[0].secret.secretName: Required value",
        "spec.volumes[0].secret.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), "
        "both inclusive",
        "spec.volumes[1].configMap.name: Required value",
        "spec.volumes[1].configMap.items[0].key: Required value",
        "spec.volumes[1].configMap.items[0].path: Invalid value: \"../x\": must not contain '..'",
        "spec.volumes[2].persistentVolumeClaim.claimName: Required value",
        "spec.volumes[3].hostPath.path: Invalid value: \"/a/../b\": must not contain '..'",
        'spec.volumes[3].hostPath.type: Unsupported value: "Weird": supported values: "", "BlockDevice", '
        '"CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"',
        'spec.volumes[4].nfs.path: Invalid value: "rel": must be an absolute path',
    ]


def test_projected_token_expiration() -> None:
    volumes = [
        {
            "name": "t",
            "projected": {"sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 60}}]},
        }
    ]
    assert errors(volumes) == [
        "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds: Invalid value: 60: "
        "may not specify a duration less than 10 minutes"
    ]


def test_mounts_must_reference_declared_volumes() -> None:
    mounts = [
        {"name": "missing", "mountPath": "/a"},
        {"name": "v", "mountPath": "/a"},
        {"name": "v", "mountPath": ""},
        {"name": "v", "mountPath": "/b", "subPath": "/abs"},
    ]
    assert errors([{"name": "v", "emptyDir": {}}], mounts) == [
        f'{C0}.volumeMounts[0].name: Not found: "missing"',
        f'{C0}.volumeMounts[1].mountPath: Invalid value: "/a": must be unique',
        f"{C0}.volumeMounts[2].mountPath: Required value",
        f'{C0}.volumeMounts.subPath: Invalid value: "/abs": must be a relative path',
    ]


def test_invalid_volume_is_not_mountable() -> None:
    """A volume with errors is not registered, so mounts of it also fail (as in kube)."""
    errs = errors([{"name": "v", "secret": {}}], [{"name": "v", "mountPath": "/s"}])
    assert errs == [
        "spec.volumes[0].secret.secretName: Required value",
        f'{C0}.volumeMounts[0].name: Not found: "v"',
    ]
