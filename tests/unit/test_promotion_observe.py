"""What an app runs and whether it is Synced: the reconciler's status first, else a dry-run diff; health live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ferry.delivery.apply import InventoryRef, apply
from ferry.delivery.environments import ClusterRef, Environment, PromotionGates, SyncPolicy
from ferry.delivery.promotion.observe import live_digests, observe_app, parse_time, reconciler_status
from tests.unit.apply_support import FakeKubeApi
from tests.unit.configrepo_support import digest

ENV = Environment(
    "sit", ClusterRef(Path("/kc"), None), "shop-sit", SyncPolicy(), PromotionGates(), "envs/sit"
)
INVENTORY = InventoryRef(app="sit-web", namespace="shop-sit")
HEALTHY = {
    "observedGeneration": 1,
    "replicas": 2,
    "updatedReplicas": 2,
    "readyReplicas": 2,
    "availableReplicas": 2,
    "conditions": [{"type": "Available", "status": "True"}],
}


def rendered(n: int) -> list[dict[str, Any]]:
    pod = {"containers": [{"name": "web", "image": f"127.0.0.1:5000/web@{digest(n)}"}]}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop-sit"},
            "spec": {},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop-sit"},
            "spec": {"replicas": 2, "template": {"spec": pod}},
        },
    ]


async def _deployed(n: int) -> FakeKubeApi:
    api = FakeKubeApi()
    await apply(api, rendered(n), inventory=INVENTORY)
    api.store[("apps", "Deployment", "shop-sit", "web")]["status"] = dict(HEALTHY)
    api.actions.clear()  # the tests look at what observing did
    return api


async def test_synced_and_healthy_at_the_digest_by_dry_run() -> None:
    api = await _deployed(1)
    state = await observe_app(api, rendered(1), env=ENV, service="web", inventory=INVENTORY)
    assert (state.health, state.sync, state.source) == ("Healthy", "Synced", "live")
    assert state.digests == (digest(1),) and state.runs(digest(1)) and not state.runs(digest(2))
    assert api.writes() == []  # observing never writes


async def test_a_different_desired_digest_is_out_of_sync_naming_the_field() -> None:
    api = await _deployed(1)
    state = await observe_app(api, rendered(2), env=ENV, service="web", inventory=INVENTORY)
    assert state.sync == "OutOfSync"
    assert state.sync_reason.startswith("Deployment shop-sit/web would be changed (")
    assert "containers[name=web].image" in state.sync_reason
    assert state.digests == (digest(1),)  # what runs, not what is desired


async def test_not_ready_pods_are_not_healthy() -> None:
    api = await _deployed(1)
    api.store[("apps", "Deployment", "shop-sit", "web")]["status"] = dict(
        HEALTHY, readyReplicas=0, availableReplicas=0
    )
    state = await observe_app(api, rendered(1), env=ENV, service="web", inventory=INVENTORY)
    assert state.health == "Progressing" and "Deployment shop-sit/web" in state.reason


async def test_the_reconcilers_status_configmap_wins_for_sync() -> None:
    api = await _deployed(1)
    cm_type = await api.resource_type("v1", "ConfigMap")
    api.put(
        cm_type,
        {
            "metadata": {"name": "ferry-app-sit-web", "namespace": "shop-sit"},
            "data": {"status": json.dumps({"sync": "OutOfSync", "healthySince": "2026-11-27T05:30:00Z"})},
        },
    )
    state = await observe_app(api, rendered(1), env=ENV, service="web", inventory=INVENTORY)
    assert (state.sync, state.source, state.health) == ("OutOfSync", "reconciler", "Healthy")
    assert state.healthy_since == parse_time("2026-11-27T05:30:00Z")
    assert ("dry-run", "Deployment/web") not in api.actions  # no diff of its own when the reconciler says


async def test_a_reconciler_status_for_another_digest_is_out_of_sync() -> None:
    api = await _deployed(1)
    cm_type = await api.resource_type("v1", "ConfigMap")
    data = {"sync": "Synced", "health": "Healthy", "digest": digest(1), "message": ""}
    api.put(cm_type, {"metadata": {"name": "ferry-app-sit-web", "namespace": "shop-sit"}, "data": data})
    assert (await observe_app(api, rendered(1), env=ENV, service="web", inventory=INVENTORY)).sync == "Synced"
    state = await observe_app(api, rendered(2), env=ENV, service="web", inventory=INVENTORY)
    assert (state.sync, state.source) == ("OutOfSync", "reconciler")
    assert (
        state.sync_reason == f"the reconciler has not synced {digest(2)} yet (its status is for {digest(1)})"
    )


def test_reconciler_status_formats() -> None:
    flat = {
        "data": {"sync": "OutOfSync", "health": "Healthy", "digest": digest(1), "message": "drift", "x": "y"}
    }
    assert reconciler_status(flat) == {
        "sync": "OutOfSync",
        "health": "Healthy",
        "digest": digest(1),
        "message": "drift",
    }
    nested = {
        "data": {"status": json.dumps({"sync": {"status": "OutOfSync"}, "health": {"status": "Degraded"}})}
    }
    assert reconciler_status(nested) == {"sync": "OutOfSync", "health": "Degraded"}
    assert reconciler_status({"data": {"sync": "Syncing"}}) is None  # not understood: fall back to live
    assert reconciler_status({"data": {"status": "{not json"}}) is None
    assert reconciler_status(None) is None


def test_live_digests_of_every_container() -> None:
    dep = {
        "spec": {
            "template": {
                "spec": {"initContainers": [{"image": f"a@{digest(3)}"}], "containers": [{"image": "b:1"}]}
            }
        }
    }
    assert live_digests([dep, None]) == (digest(3), "?")
    assert parse_time("2026-11-27T05:30:00") is None  # no zone: not trusted
