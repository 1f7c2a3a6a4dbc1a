"""The Job, Endpoints, EndpointSlice and ServiceAccount controllers against the real in-process server.

Unit tests pin the exact actions against fakes; this checks that the real API accepts the same writes
(Job /status updates, JSON patches with a ``test`` op on pod finalizers, Endpoints and EndpointSlice
bodies through validation, ServiceAccount creates) and that the controllers converge through real
informers. There is no kubelet here: the test plays it by writing pod status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ferry.cluster.controllers.endpoints import ENDPOINTS, PODS, SERVICES, EndpointsController
from ferry.cluster.controllers.endpointslices import SLICES, EndpointSliceController
from ferry.cluster.controllers.job import (
    JOBS,
    TRACKING_FINALIZER,
    JobController,
    OrphanPodFinalizerController,
)
from ferry.cluster.controllers.runtime.manager import (
    ControllerContext,
    ControllerManager,
    ControllerSpec,
    ManagerSettings,
)
from ferry.cluster.controllers.serviceaccounts import NAMESPACES, SERVICE_ACCOUNTS, ServiceAccountsController
from tests.integration.conftest import Api, Cluster, eventually

NODES = "v1/nodes"
PODS_PATH = "/api/v1/namespaces/default/pods"
JOBS_PATH = "/apis/batch/v1/namespaces/default/jobs"


def _specs() -> list[ControllerSpec]:
    def job(c: ControllerContext) -> JobController:
        return JobController(c.lister(JOBS), c.lister(PODS), c.client, c.recorder, c.clock)

    def orphans(c: ControllerContext) -> OrphanPodFinalizerController:
        return OrphanPodFinalizerController(c.lister(JOBS), c.lister(PODS), c.client, c.recorder, c.clock)

    def endpoints(c: ControllerContext) -> EndpointsController:
        return EndpointsController(
            c.lister(SERVICES), c.lister(PODS), c.lister(ENDPOINTS), c.client, c.recorder, c.clock
        )

    def slices(c: ControllerContext) -> EndpointSliceController:
        listers = [c.lister(r) for r in (SERVICES, PODS, NODES, SLICES)]
        return EndpointSliceController(*listers, c.client, c.recorder, c.clock)

    def accounts(c: ControllerContext) -> ServiceAccountsController:
        return ServiceAccountsController(
            c.lister(NAMESPACES), c.lister(SERVICE_ACCOUNTS), c.client, c.recorder, c.clock
        )

    return [
        ControllerSpec("job-controller", job),
        ControllerSpec("job-orphan-pod-controller", orphans),
        ControllerSpec("endpoint-controller", endpoints),
        ControllerSpec("endpointslice-controller", slices),
        ControllerSpec("serviceaccount-controller", accounts),
    ]


@pytest.fixture
async def running(cluster: Cluster) -> AsyncIterator[Api]:
    stop = asyncio.Event()
    manager = ControllerManager(
        cluster.ctx, stop, _specs(), settings=ManagerSettings(resync_period_seconds=0)
    )
    task = asyncio.create_task(manager.run())
    try:
        yield cluster.api
    finally:
        stop.set()
        await task


async def _get(api: Api, path: str) -> Any:
    resp = await api.get(path)
    return resp.body if resp.status == 200 else None


async def _set_pod_status(api: Api, name: str, status: dict[str, Any]) -> None:
    pod = await _get(api, f"{PODS_PATH}/{name}")
    pod["status"] = status
    resp = await api.put(f"{PODS_PATH}/{name}/status", pod)
    assert resp.status == 200, resp.body


async def test_a_job_runs_a_pod_to_completion_and_releases_its_finalizer(running: Api) -> None:
    api = running
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "pi", "image": "perl:5"}], "restartPolicy": "Never"}
            }
        },
    }
    created = await api.post(JOBS_PATH, job)
    assert created.status == 201, created.body

    async def one_pod() -> Any:
        pods = (await _get(api, PODS_PATH))["items"]
        return pods[0] if len(pods) == 1 else None

    pod = await eventually(one_pod)
    assert pod["metadata"]["finalizers"] == [TRACKING_FINALIZER]
    assert pod["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "pi"
    name = pod["metadata"]["name"]
    terminated = {"exitCode": 0, "reason": "Completed", "finishedAt": "2026-01-01T00:00:10Z"}
    await _set_pod_status(
        api,
        name,
        {
            "phase": "Succeeded",
            "containerStatuses": [
                {
                    "name": "pi",
                    "ready": False,
                    "restartCount": 0,
                    "image": "perl:5",
                    "imageID": "",
                    "state": {"terminated": terminated},
                }
            ],
        },
    )

    async def complete() -> Any:
        status = (await _get(api, f"{JOBS_PATH}/pi"))["status"]
        return status if any(c["type"] == "Complete" for c in status.get("conditions") or []) else None

    status = await eventually(complete)
    assert status["succeeded"] == 1
    assert [(c["type"], c["reason"]) for c in status["conditions"]] == [
        ("SuccessCriteriaMet", "CompletionsReached"),
        ("Complete", "CompletionsReached"),
    ]
    assert not (await _get(api, f"{PODS_PATH}/{name}"))["metadata"].get("finalizers")


async def test_a_service_gets_endpoints_and_a_slice_and_a_namespace_its_default_account(running: Api) -> None:
    api = running
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}}
    assert (await api.post("/api/v1/nodes", node)).status == 201
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    assert (await api.post("/api/v1/namespaces/default/services", svc)).status == 201
    pod = {
        "metadata": {"name": "web-1", "labels": {"app": "web"}},
        "spec": {
            "nodeName": "node-1",
            "containers": [
                {"name": "a", "image": "web:1", "ports": [{"name": "http", "containerPort": 8080}]}
            ],
        },
    }
    assert (await api.post(PODS_PATH, pod)).status == 201
    ready = {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"}
    await _set_pod_status(
        api,
        "web-1",
        {"phase": "Running", "podIP": "10.244.0.7", "podIPs": [{"ip": "10.244.0.7"}], "conditions": [ready]},
    )

    async def endpoints() -> Any:
        ep = await _get(api, "/api/v1/namespaces/default/endpoints/web")
        return ep if ep and ep.get("subsets") else None

    ep = await eventually(endpoints)
    assert ep["subsets"][0]["addresses"][0]["ip"] == "10.244.0.7"
    assert ep["subsets"][0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    async def slice_with_endpoint() -> Any:
        items = (await _get(api, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"))["items"]
        mine = [s for s in items if s["metadata"]["labels"].get("kubernetes.io/service-name") == "web"]
        return mine if mine and mine[0].get("endpoints") else None

    (eps,) = await eventually(slice_with_endpoint)
    assert eps["metadata"]["name"].startswith("web-")
    assert eps["endpoints"][0]["conditions"] == {"ready": True, "serving": True, "terminating": False}

    assert (await api.post("/api/v1/namespaces", {"metadata": {"name": "team"}})).status == 201
    assert await eventually(lambda: _get(api, "/api/v1/namespaces/team/serviceaccounts/default"))


async def test_a_failed_pod_fails_a_job_without_retries_and_deleting_the_job_frees_its_pods(
    running: Api,
) -> None:
    api = running
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "backoffLimit": 0,
            "parallelism": 2,
            "completions": 2,
            "template": {
                "spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}
            },
        },
    }
    assert (await api.post(JOBS_PATH, job)).status == 201

    async def two_pods() -> Any:
        pods = (await _get(api, PODS_PATH))["items"]
        return pods if len(pods) == 2 else None

    first, second = await eventually(two_pods)
    await _set_pod_status(api, first["metadata"]["name"], {"phase": "Failed"})

    async def failed() -> Any:
        status = (await _get(api, f"{JOBS_PATH}/once"))["status"]
        return status if any(c["type"] == "Failed" for c in status.get("conditions") or []) else None

    # The running pod is deleted; without a kubelet it never terminates, so the test ends it (as a kubelet
    # would) by letting the API remove it: its finalizer is stripped by the Job controller.
    async def terminating() -> Any:
        pod = await _get(api, f"{PODS_PATH}/{second['metadata']['name']}")
        return pod is None or pod["metadata"].get("deletionTimestamp")

    assert await eventually(terminating)
    resp = await api.delete(f"{PODS_PATH}/{second['metadata']['name']}", {"gracePeriodSeconds": 0})
    assert resp.status in (200, 404), resp.body
    status = await eventually(failed)
    assert [(c["type"], c["reason"]) for c in status["conditions"]] == [
        ("FailureTarget", "BackoffLimitExceeded"),
        ("Failed", "BackoffLimitExceeded"),
    ]
    assert status["failed"] == 2

    assert (await api.delete(f"{JOBS_PATH}/once", {"propagationPolicy": "Background"})).status == 200

    async def no_pods() -> Any:
        return (await _get(api, PODS_PATH))["items"] == []

    assert await eventually(no_pods)


async def test_deleting_a_running_job_leaves_no_pod_stuck_on_the_tracking_finalizer(running: Api) -> None:
    api = running
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "long"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}
            }
        },
    }
    assert (await api.post(JOBS_PATH, job)).status == 201

    async def pod_with_finalizer() -> Any:
        pods = (await _get(api, PODS_PATH))["items"]
        return (
            pods if len(pods) == 1 and pods[0]["metadata"].get("finalizers") == [TRACKING_FINALIZER] else None
        )

    await eventually(pod_with_finalizer)
    assert (await api.delete(f"{JOBS_PATH}/long", {"propagationPolicy": "Background"})).status == 200

    async def no_pods() -> Any:
        return (await _get(api, PODS_PATH))["items"] == []

    assert await eventually(no_pods)  # GC deletes the pod; the orphan-pod controller strips the finalizer
