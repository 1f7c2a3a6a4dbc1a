"""The Deployment controller against the real API server: every write it makes passes validation,
/status keeps the revision annotation, strategic-merge adoption works, a rollout and an undo complete.

No informers and no ReplicaSet controller here: before each sync the listers are refilled from a
fresh LIST, and the test writes ReplicaSet status itself (as the ReplicaSet controller would).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ferry.cluster.controllers.deployment import DeploymentController
from ferry.cluster.controllers.runtime.client import ApiClient
from ferry.cluster.controllers.runtime.fakes import FakeLister, RecordingRecorder
from ferry.cluster.controllers.runtime.types import SystemClock
from tests.integration.conftest import Cluster

DEPLOYMENTS, REPLICASETS, PODS = "apps/v1/deployments", "apps/v1/replicasets", "v1/pods"
NS = "default"
REVISION = "deployment.kubernetes.io/revision"


class Live:
    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.listers = {r: FakeLister() for r in (DEPLOYMENTS, REPLICASETS, PODS)}
        self.recorder = RecordingRecorder()
        self.controller = DeploymentController(
            self.listers[DEPLOYMENTS],
            self.listers[REPLICASETS],
            pods=self.listers[PODS],
            client=client,
            recorder=self.recorder,
            clock=SystemClock(),
        )

    async def refresh(self) -> None:
        for resource, lister in self.listers.items():
            items, _ = await self.client.list(resource, NS)
            lister.objects.clear()
            for item in items:
                lister.put(item)

    async def sync(self) -> None:
        await self.refresh()
        await self.controller.sync(f"{NS}/web")

    async def rss(self) -> list[dict[str, Any]]:
        items, _ = await self.client.list(REPLICASETS, NS)
        return sorted(items, key=lambda r: int(r["metadata"]["annotations"][REVISION]))

    async def report_pods(self) -> None:
        """The ReplicaSet controller's part: every spec replica exists and is available."""
        for rs in await self.rss():
            n = rs["spec"]["replicas"]
            rs["status"] = {
                "replicas": n,
                "fullyLabeledReplicas": n,
                "readyReplicas": n,
                "availableReplicas": n,
                "observedGeneration": rs["metadata"]["generation"],
            }
            await self.client.update(REPLICASETS, NS, rs, subresource="status")

    async def converge(self, rounds: int = 10) -> None:
        for _ in range(rounds):
            await self.sync()
            await self.report_pods()
        await self.sync()


@pytest.fixture
async def live(cluster: Cluster) -> AsyncIterator[Live]:
    s = cluster.ctx.settings
    client = ApiClient(s.server_url, cluster.api.token, ca_file=s.ca_file, user_agent="ferry-test/1.0")
    yield Live(client)
    await client.close()


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "annotations": {"kubernetes.io/change-cause": "v1"}},
    "spec": {
        "replicas": 4,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [{"name": "app", "image": "nginx:1", "resources": {"limits": {"cpu": "1"}}}]
            },
        },
    },
}


async def test_rollout_undo_and_adoption_through_the_real_api(live: Live) -> None:
    client = live.client
    await client.create(DEPLOYMENTS, NS, copy.deepcopy(DEPLOYMENT))
    await live.sync()
    (first,) = await live.rss()
    assert first["spec"]["replicas"] == 4
    assert first["metadata"]["annotations"]["kubernetes.io/change-cause"] == "v1"
    d = await client.get(DEPLOYMENTS, NS, "web")
    assert d["metadata"]["annotations"][REVISION] == "1"  # written through /status, kept
    assert d["metadata"]["generation"] == 1
    assert d["status"]["observedGeneration"] == 1

    await live.converge()
    d = await client.get(DEPLOYMENTS, NS, "web")
    assert [c["reason"] for c in d["status"]["conditions"]] == [
        "MinimumReplicasAvailable",
        "NewReplicaSetAvailable",
    ]

    # kubectl set image: a strategic-merge patch of the template.
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}
    await client.patch(DEPLOYMENTS, NS, "web", patch, patch_type="strategic")
    await live.converge()
    old, new = await live.rss()
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (0, 4)
    assert new["metadata"]["annotations"][REVISION] == "2"
    d = await client.get(DEPLOYMENTS, NS, "web")
    assert d["status"]["updatedReplicas"] == d["status"]["availableReplicas"] == 4

    # kubectl rollout undo: a JSON patch of the template and the annotations.
    template = copy.deepcopy(old["spec"]["template"])
    del template["metadata"]["labels"]["pod-template-hash"]
    undo = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {
            "op": "replace",
            "path": "/metadata/annotations",
            "value": {REVISION: d["metadata"]["annotations"][REVISION], "kubernetes.io/change-cause": "v1"},
        },
    ]
    await client.patch(DEPLOYMENTS, NS, "web", undo, patch_type="json")
    await live.converge()
    rss = await live.rss()
    assert [(r["metadata"]["uid"], r["metadata"]["annotations"][REVISION]) for r in rss] == [
        (new["metadata"]["uid"], "2"),
        (old["metadata"]["uid"], "3"),
    ]
    assert rss[1]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert rss[1]["spec"]["replicas"] == 4

    # Orphan both ReplicaSets; the next sync adopts them back with strategic-merge patches.
    for rs in rss:
        await client.patch(REPLICASETS, NS, rs["metadata"]["name"], {"metadata": {"ownerReferences": None}})
    await live.sync()
    d = await client.get(DEPLOYMENTS, NS, "web")
    for rs in await live.rss():
        (ref,) = rs["metadata"]["ownerReferences"]
        assert (ref["uid"], ref["controller"], ref["blockOwnerDeletion"]) == (
            d["metadata"]["uid"],
            True,
            True,
        )
    assert len(await live.rss()) == 2
    assert [e[2] for e in live.recorder.events if e[1] == "Warning"] == []
