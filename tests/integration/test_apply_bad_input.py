"""Bad input against the real API server: nothing is applied, and the error is one line naming the cause."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from ferry.delivery.apply import (
    ApiRejectedError,
    ClientConfig,
    ClusterUnreachableError,
    ForbiddenError,
    InvalidObjectError,
    InventoryRef,
    LightkubeApi,
    UnknownKindError,
    apply,
)
from tests.integration.apply_support import configmap, connect, deployment, service, write_kubeconfig
from tests.integration.conftest import Cluster

INV = InventoryRef("shop-web", "shop")


async def _names(cluster: Cluster, path: str) -> set[str]:
    resp = await cluster.api.get(path)
    assert resp.status == 200, resp.body
    return {item["metadata"]["name"] for item in resp.body["items"]}


async def _make_namespace(cluster: Cluster) -> None:
    created = await cluster.api.post("/api/v1/namespaces", {"metadata": {"name": "shop"}})
    assert created.status == 201, created.body


async def test_one_invalid_object_means_nothing_is_applied_and_the_cause_is_named(
    cluster: Cluster, tmp_path: Path
) -> None:
    await _make_namespace(cluster)
    bad = deployment("web", "shop", replicas=-1)
    objects = [configmap("cfg", "shop", a="1"), service("web", "shop"), bad]
    async with connect(cluster, tmp_path) as kube:
        with pytest.raises(InvalidObjectError) as caught:
            await apply(kube, objects, inventory=INV)

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("Deployment shop/web: invalid (dry-run apply): spec.replicas: ")
    assert message.endswith("(nothing was applied)")
    assert [c.field for c in caught.value.causes] == ["spec.replicas"]
    # The ConfigMap and the Service came first in apply order, and were still not written.
    assert await _names(cluster, "/api/v1/namespaces/shop/configmaps") <= {"kube-root-ca.crt"}
    assert await _names(cluster, "/api/v1/namespaces/shop/services") == set()


async def test_an_unknown_field_is_rejected_by_strict_field_validation(
    cluster: Cluster, tmp_path: Path
) -> None:
    await _make_namespace(cluster)
    typo: dict[str, Any] = service("web", "shop")
    typo["spec"]["portz"] = []
    async with connect(cluster, tmp_path) as kube:
        with pytest.raises(Exception) as caught:
            await apply(kube, [configmap("cfg", "shop"), typo], inventory=INV)
    assert "Service shop/web" in str(caught.value) and "portz" in str(caught.value)
    assert await _names(cluster, "/api/v1/namespaces/shop/configmaps") <= {"kube-root-ca.crt"}


async def test_an_unknown_kind_is_named(cluster: Cluster, tmp_path: Path) -> None:
    await _make_namespace(cluster)
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "shop"},
    }
    async with connect(cluster, tmp_path) as kube:
        with pytest.raises(UnknownKindError, match=r"serves no Widget in example\.com/v1"):
            await apply(kube, [configmap("cfg", "shop"), widget], inventory=INV)
    assert await _names(cluster, "/api/v1/namespaces/shop/configmaps") <= {"kube-root-ca.crt"}


async def test_an_unreachable_cluster_is_one_line_naming_the_server(tmp_path: Path, cluster: Cluster) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = write_kubeconfig(cluster, tmp_path / "kubeconfig")
    path.write_text(path.read_text().replace(cluster.api.server, f"https://127.0.0.1:{port}"))
    async with LightkubeApi.connect(ClientConfig(kubeconfig=path)) as kube:
        with pytest.raises(ClusterUnreachableError) as caught:
            await apply(kube, [configmap("cfg", "shop")], inventory=INV)
    assert str(caught.value).startswith(f"cannot reach the cluster at https://127.0.0.1:{port}: ")
    assert "\n" not in str(caught.value)


async def test_a_forbidden_write_is_one_line_naming_the_object(cluster: Cluster, tmp_path: Path) -> None:
    # NamespaceLifecycle answers 403 for writes into a namespace being deleted (no namespace controller runs
    # in this fixture; a finalizer keeps "shop" Terminating).
    held = {"metadata": {"name": "shop", "finalizers": ["example.com/hold"]}}
    assert (await cluster.api.post("/api/v1/namespaces", held)).status == 201
    assert (await cluster.api.delete("/api/v1/namespaces/shop")).status == 200
    async with connect(cluster, tmp_path) as kube:
        with pytest.raises(ForbiddenError) as caught:
            await apply(kube, [configmap("cfg", "shop")], inventory=INV)
    message = str(caught.value)
    assert message.startswith("ConfigMap shop/cfg: forbidden (dry-run apply): ")
    assert "\n" not in message


async def test_refused_credentials_are_one_line(cluster: Cluster, tmp_path: Path) -> None:
    path = write_kubeconfig(cluster, tmp_path / "kubeconfig", token="not-the-token")
    async with LightkubeApi.connect(ClientConfig(kubeconfig=path)) as kube:
        with pytest.raises(ApiRejectedError) as caught:
            await apply(kube, [configmap("cfg", "shop")], inventory=INV)
    assert caught.value.code == 401
    assert "\n" not in str(caught.value) and "Unauthorized" in str(caught.value)
