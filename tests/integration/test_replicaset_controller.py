"""The ReplicaSet controller run by the controller manager against the real in-process server.

Unit tests pin the exact actions against fakes; this checks the same writes are accepted by the real
API (pod bodies, strategic-merge ownerReference patches with a uid, the /status update) and that the
controller converges through real informers: create, adopt an orphan, release a relabeled pod, scale
down.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ferry.cluster.controllers.replicaset import SPEC
from ferry.cluster.controllers.runtime.manager import ControllerManager, ManagerSettings
from tests.integration.conftest import Api, Cluster, eventually

RS_PATH = "/apis/apps/v1/namespaces/default/replicasets"
PODS_PATH = "/api/v1/namespaces/default/pods"


async def _pods(api: Api) -> list[dict[str, Any]]:
    resp = await api.get(PODS_PATH)
    assert resp.status == 200, resp.body
    return [p for p in resp.body["items"] if not p["metadata"].get("deletionTimestamp")]


def _owned(pods: list[dict[str, Any]], uid: str) -> list[dict[str, Any]]:
    return [p for p in pods if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]


async def test_the_controller_converges_against_the_real_api(cluster: Cluster) -> None:
    api = cluster.api
    stop = asyncio.Event()
    manager = ControllerManager(cluster.ctx, stop, [SPEC], settings=ManagerSettings(resync_period_seconds=0))
    task = asyncio.create_task(manager.run())
    try:
        orphan = {
            "metadata": {"name": "orphan", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "a", "image": "web:1"}]},
        }
        assert (await api.post(PODS_PATH, orphan)).status == 201
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "a", "image": "web:1"}]},
                },
            },
        }
        created = await api.post(RS_PATH, rs)
        assert created.status == 201, created.body
        uid = created.body["metadata"]["uid"]

        async def three_owned() -> list[dict[str, Any]] | None:
            owned = _owned(await _pods(api), uid)
            return owned if len(owned) == 3 else None

        owned = await eventually(three_owned)
        assert "orphan" in {p["metadata"]["name"] for p in owned}  # adopted, so only 2 were created
        ref = next(r for r in owned[0]["metadata"]["ownerReferences"] if r["uid"] == uid)
        assert ref == {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "web",
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

        async def status_replicas_3() -> bool:
            got = (await api.get(f"{RS_PATH}/web")).body
            return got.get("status", {}).get("replicas") == 3 and got["status"].get("observedGeneration") == 1

        await eventually(status_replicas_3)

        # Relabel one pod: it is released and replaced.
        patched = await api.patch(f"{PODS_PATH}/orphan", {"metadata": {"labels": {"app": "debug"}}})
        assert patched.status == 200, patched.body

        async def released() -> bool:
            pods = await _pods(api)
            orphan_now = next(p for p in pods if p["metadata"]["name"] == "orphan")
            return not orphan_now["metadata"].get("ownerReferences") and len(_owned(pods, uid)) == 3

        await eventually(released)

        # Scale down to 1.
        scaled = await api.patch(f"{RS_PATH}/web", {"spec": {"replicas": 1}})
        assert scaled.status == 200, scaled.body

        async def one_left() -> bool:
            got = (await api.get(f"{RS_PATH}/web")).body
            return len(_owned(await _pods(api), uid)) == 1 and got["status"].get("replicas") == 1

        await eventually(one_left)
    finally:
        stop.set()
        await task
