"""Helpers for the apply-engine integration tests: a kubeconfig for the in-process cluster, and objects.

The ``cluster`` fixture exposes the server URL, the admin token and the CA file; the apply engine only takes
a kubeconfig (as it would for EKS or kind), so the helper writes one and connects through it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from ferry.delivery.apply import ClientConfig, LightkubeApi
from tests.integration.conftest import Cluster


def write_kubeconfig(cluster: Cluster, path: Path, *, token: str | None = None) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "ferry",
                "cluster": {
                    "server": cluster.api.server,
                    "certificate-authority": str(cluster.config.data_dir / "pki" / "ca.crt"),
                },
            }
        ],
        "users": [{"name": "admin", "user": {"token": token or cluster.api.token}}],
        "contexts": [
            {"name": "ferry", "context": {"cluster": "ferry", "user": "admin", "namespace": "default"}}
        ],
        "current-context": "ferry",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def connect(cluster: Cluster, tmp_path: Path) -> LightkubeApi:
    return LightkubeApi.connect(ClientConfig(kubeconfig=write_kubeconfig(cluster, tmp_path / "kubeconfig")))


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap(name: str, ns: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": dict(data),
    }


def service(name: str, ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }


def deployment(name: str, ns: str, *, image: str = "web:1", replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image, "ports": [{"containerPort": 8080}]}]},
            },
        },
    }


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
