"""The process kubelet's env resolution and volumes (ConfigMaps and Secrets from a fake lookup)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest

from ferry.cluster.kubelet.process.envs import EnvError, container_env, parse_quantity
from ferry.cluster.kubelet.process.volumes import (
    PLACEHOLDER_TOKEN,
    VolumeError,
    container_mounts,
    prepare_volumes,
    write_etc_files,
)

OBJECTS: dict[tuple[str, str], dict[str, Any]] = {
    ("v1/configmaps", "cfg"): {"data": {"COLOR": "blue", "bad key": "x", "app.conf": "a=1\n"}},
    ("v1/secrets", "sec"): {"data": {"PASSWORD": base64.b64encode(b"s3cret").decode()}},
}


async def lookup(resource: str, namespace: str, name: str) -> dict[str, Any] | None:
    assert namespace == "shop"
    return OBJECTS.get((resource, name))


POD: dict[str, Any] = {
    "metadata": {"name": "api-1", "namespace": "shop", "uid": "u-1", "labels": {"app": "api", "tier": "web"}},
    "spec": {"nodeName": "ferry-node-1", "serviceAccountName": "default", "containers": []},
    "status": {"podIP": "10.244.0.7", "hostIP": "10.244.0.1"},
}
SERVICE = {
    "metadata": {"name": "db", "namespace": "shop"},
    "spec": {"clusterIP": "10.96.0.20", "ports": [{"port": 5432, "protocol": "TCP"}]},
}


async def test_env_resolves_every_source_in_kubelet_order() -> None:
    container = {
        "name": "api",
        "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}},
        "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}, {"secretRef": {"name": "sec"}}],
        "env": [
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
            {"name": "TIER", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['tier']"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {
                "name": "MEM",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
            },
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            {
                "name": "REQ_CPU_M",
                "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}},
            },
            {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "COLOR"}}},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "PASSWORD"}}},
            {
                "name": "MISSING",
                "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "x", "optional": True}},
            },
            {"name": "URL", "value": "http://$(IP):80/$(UNDEFINED)/$$"},
        ],
    }
    env = await container_env(POD, container, lookup, services=[SERVICE], allocatable={"cpu": "2"})
    d = dict(env)
    assert d["DB_SERVICE_HOST"] == "10.96.0.20" and d["DB_SERVICE_PORT"] == "5432"
    assert (d["CFG_COLOR"], d["PASSWORD"]) == ("blue", "s3cret") and "CFG_bad key" not in d
    assert (d["POD"], d["NS"], d["UID"], d["TIER"], d["IP"], d["NODE"]) == (
        "api-1",
        "shop",
        "u-1",
        "web",
        "10.244.0.7",
        "ferry-node-1",
    )
    assert (d["MEM"], d["CPU"], d["REQ_CPU_M"]) == ("64", "1", "250")  # cpu rounds up to whole cores
    assert (d["COLOR"], d["PW"]) == ("blue", "s3cret") and "MISSING" not in d
    assert d["URL"] == "http://10.244.0.7:80/$(UNDEFINED)/$"
    names = [n for n, _ in env]
    assert names.index("DB_SERVICE_HOST") < names.index("CFG_COLOR") < names.index("POD")


async def test_a_missing_required_source_is_an_error() -> None:
    container = {
        "name": "c",
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "nope"}}}],
    }
    with pytest.raises(EnvError, match="couldn't find key nope"):
        await container_env(POD, container, lookup, services=[], allocatable={})
    with pytest.raises(EnvError, match='configMap "gone" not found'):
        await container_env(
            POD,
            {"name": "c", "envFrom": [{"configMapRef": {"name": "gone"}}]},
            lookup,
            services=[],
            allocatable={},
        )


def test_quantities() -> None:
    assert (
        parse_quantity("128Mi") == 128 * 2**20 and parse_quantity("500m") == 0.5 and parse_quantity("2") == 2
    )


async def test_volumes_are_written_with_items_and_modes(tmp_path: Path) -> None:
    pod = dict(POD) | {
        "spec": dict(POD["spec"])
        | {
            "volumes": [
                {"name": "scratch", "emptyDir": {}},
                {
                    "name": "conf",
                    "configMap": {"name": "cfg", "items": [{"key": "app.conf", "path": "sub/app.conf"}]},
                },
                {"name": "creds", "secret": {"secretName": "sec", "defaultMode": 0o400}},
                {
                    "name": "info",
                    "downwardAPI": {
                        "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
                    },
                },
                {
                    "name": "all",
                    "projected": {
                        "sources": [
                            {
                                "configMap": {
                                    "name": "cfg",
                                    "items": [{"key": "COLOR", "path": "color", "mode": 0o600}],
                                }
                            },
                            {"serviceAccountToken": {"path": "token"}},
                        ]
                    },
                },
            ]
        }
    }
    vols = await prepare_volumes(pod, tmp_path, lookup)
    assert sorted(vols) == ["all", "conf", "creds", "info", "scratch"]
    assert (vols["conf"] / "sub/app.conf").read_text() == "a=1\n"
    assert sorted(p.name for p in vols["conf"].rglob("*") if p.is_file()) == ["app.conf"]
    assert (vols["creds"] / "PASSWORD").read_bytes() == b"s3cret"
    assert stat.S_IMODE((vols["creds"] / "PASSWORD").stat().st_mode) == 0o400
    assert (vols["info"] / "labels").read_text() == 'app="api"\ntier="web"'
    assert (vols["all"] / "color").read_text() == "blue"
    assert stat.S_IMODE((vols["all"] / "color").stat().st_mode) == 0o600
    assert (vols["all"] / "token").read_text() == PLACEHOLDER_TOKEN
    etc = write_etc_files(tmp_path, "hosts\n", "resolv\n")
    container = {
        "volumeMounts": [
            {"name": "conf", "mountPath": "/etc/app", "readOnly": True},
            {"name": "scratch", "mountPath": "/data", "subPath": "d"},
        ]
    }
    mounts = container_mounts(container, vols, etc)
    assert [(m.container_path, m.read_only) for m in mounts] == [
        ("/etc/hosts", False),
        ("/etc/resolv.conf", False),
        ("/etc/app", True),
        ("/data", False),
    ]
    assert mounts[3].host_path == vols["scratch"] / "d" and mounts[3].host_path.is_dir()


async def test_unsupported_or_missing_volumes_are_errors(tmp_path: Path) -> None:
    for vol, message in (
        ({"name": "h", "hostPath": {"path": "/"}}, "not supported"),
        ({"name": "c", "configMap": {"name": "gone"}}, 'configMap "gone" not found'),
        (
            {"name": "c", "configMap": {"name": "cfg", "items": [{"key": "../x", "path": "../../escape"}]}},
            "not found",
        ),
    ):
        pod = dict(POD) | {"spec": dict(POD["spec"]) | {"volumes": [vol]}}
        with pytest.raises(VolumeError, match=message):
            await prepare_volumes(pod, tmp_path, lookup)
