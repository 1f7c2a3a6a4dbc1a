"""Health through the real control plane: a Deployment applied by the engine is driven to available by the
deployment and replicaset controllers, the scheduler and the sim kubelet, and ``wait_healthy`` sees it by
watching. A paused Deployment reads Suspended; an object deleted by hand reads Missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ferry.cluster.controllers.registry import controllers_for
from ferry.cluster.controllers.runtime.manager import ControllerManager, ManagerSettings
from ferry.delivery.apply import HealthStatus, InventoryRef, apply, read_health, wait_healthy
from tests.integration.apply_support import configmap, connect, deployment, namespace, service
from tests.integration.conftest import Cluster

INV = InventoryRef("shop-web", "shop")


@pytest.fixture
async def control_plane(cluster: Cluster) -> AsyncIterator[None]:
    stop = asyncio.Event()
    specs = controllers_for(runtime="sim", nodes=1)
    manager = ControllerManager(cluster.ctx, stop, specs, settings=ManagerSettings(resync_period_seconds=0))
    task = asyncio.create_task(manager.run())
    yield
    stop.set()
    await task


async def test_a_deployment_becomes_healthy_when_its_pods_are_available(
    cluster: Cluster, control_plane: None, tmp_path: Path
) -> None:
    objects = [
        namespace("shop"),
        configmap("cfg", "shop", a="1"),
        service("web", "shop"),
        deployment("web", "shop"),
    ]
    async with connect(cluster, tmp_path) as kube:
        result = await apply(kube, objects, inventory=INV)
        state = await wait_healthy(kube, result.applied, app="shop-web", timeout_seconds=60)

    assert state.status is HealthStatus.HEALTHY, state.reason
    assert state.reason == ""
    assert state.of("Deployment", "web").message == "available, replicas: 2"
    resp = await cluster.api.get("/apis/apps/v1/namespaces/shop/deployments/web")
    assert resp.body["status"]["availableReplicas"] == 2  # the cluster agrees


async def test_a_paused_deployment_is_suspended_and_a_deleted_one_missing(
    cluster: Cluster, control_plane: None, tmp_path: Path
) -> None:
    paused = deployment("web", "shop")
    paused["spec"]["paused"] = True
    async with connect(cluster, tmp_path) as kube:
        result = await apply(kube, [namespace("shop"), paused], inventory=INV)
        state = await read_health(kube, result.applied)
        assert state.status is HealthStatus.SUSPENDED
        assert state.reason == "Deployment shop/web: Paused: rollout paused"

        assert (await cluster.api.delete("/apis/apps/v1/namespaces/shop/deployments/web")).status == 200
        state = await read_health(kube, result.applied)
    assert state.status is HealthStatus.MISSING
    assert state.reason.startswith("Deployment shop/web: NotFound")
