"""The release store's conditional writes against a real API server (``ferry cluster up``, HTTPS, kubeconfig):
a second create of one revision and an update from a stale resourceVersion are both refused with 409."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from ferry.delivery.apply import ClientConfig
from ferry.delivery.releases import KubeReleaseStore, Release, ReleaseConflict, ReleaseState
from tests.e2e.conftest_sim import SimCluster

pytestmark = pytest.mark.e2e


def test_create_and_update_are_conditional(sim_kube: SimCluster) -> None:
    release = Release("web", "sit", sim_kube.namespace, 1, ReleaseState.PENDING, "1.0.0", "sha256:" + "a" * 64,
                      "127.0.0.1:5000/web", manifest=[{"kind": "ConfigMap"}], lease_holder="h:1:x")  # fmt: skip

    async def scenario() -> tuple[list[tuple[Release, str]], str]:
        async with KubeReleaseStore.connect(ClientConfig(kubeconfig=sim_kube.kubeconfig)) as store:
            rv = await store.create(release)
            with pytest.raises(ReleaseConflict, match="exists already"):
                await store.create(release)
            newer = await store.update(release.moved(ReleaseState.DEPLOYING), rv)
            with pytest.raises(ReleaseConflict, match="changed since it was read"):
                await store.update(replace(release, lease_holder="intruder:2:y"), rv)  # stale precondition
            return await store.list(sim_kube.namespace, "web"), newer

    [(stored, rv)], newer = asyncio.run(scenario())
    assert (stored.state, stored.lease_holder, rv) == (ReleaseState.DEPLOYING, "h:1:x", newer)
    labels = sim_kube.run("get", "secret", "ferry.release.web.v1", "-o", "jsonpath={.metadata.labels}").stdout
    assert '"status":"deploying"' in labels and '"owner":"ferry"' in labels
