"""The app status ConfigMap: its exact format (what ``ferry status`` reads), bounded history, conflict-safe
read-modify-write, and no write when nothing changed."""

from __future__ import annotations

import json
from dataclasses import replace

from ferry.delivery.gitops import HISTORY_LIMIT, AppStatus, Operation, StatusStore, SyncRecord
from ferry.delivery.gitops.status import decode, encode
from tests.unit.apply_support import FakeKubeApi


def _status() -> AppStatus:
    record = SyncRecord(
        "a" * 40, "2026-11-27T05:00:00Z", "Succeeded", "alice", "new revision: 1 changed; Healthy"
    )
    return AppStatus(
        "qa",
        "order-service",
        sync="OutOfSync",
        health="Healthy",
        revision="b" * 40,
        tag="1.4.2-a8f3d21",
        digest="sha256:" + "c" * 64,
        desired_hash="d" * 64,
        synced_hash="e" * 64,
        synced_revision="a" * 40,
        message="drift (selfHeal off): Deployment shop-qa/order-service: spec.replicas",
        drift=("Deployment shop-qa/order-service: spec.replicas",),
        operation=Operation(
            "b" * 40, "d" * 64, "Applying", "new revision", "host/42", "2026-11-27T05:01:00Z"
        ),
        last_sync=record,
        history=(record,),
    )


def test_the_format_is_flat_strings_with_compact_json_lists() -> None:
    data = encode(_status())
    assert all(isinstance(v, str) for v in data.values())
    assert data["sync"] == "OutOfSync" and data["health"] == "Healthy" and data["tag"] == "1.4.2-a8f3d21"
    assert data["drift"] == '["Deployment shop-qa/order-service: spec.replicas"]'
    assert json.loads(data["operation"]) == {
        "sha": "b" * 40,
        "hash": "d" * 64,
        "phase": "Applying",
        "reason": "new revision",
        "owner": "host/42",
        "startedAt": "2026-11-27T05:01:00Z",
    }
    assert json.loads(data["lastSync"]) == {
        "sha": "a" * 40,
        "time": "2026-11-27T05:00:00Z",
        "result": "Succeeded",
        "who": "alice",
        "message": "new revision: 1 changed; Healthy",
    }
    assert json.loads(data["history"]) == [json.loads(data["lastSync"])]
    assert decode("qa", "order-service", data) == _status()
    # No operation is an empty string; a broken JSON field (hand-edited) reads as its default.
    assert encode(replace(_status(), operation=None))["operation"] == ""
    assert decode("qa", "order-service", {**data, "history": "{not json"}).history == ()


def test_history_keeps_the_newest_entries_only() -> None:
    status = AppStatus("qa", "order-service")
    for i in range(HISTORY_LIMIT + 3):
        status = status.with_sync(SyncRecord(f"{i:040x}", f"t{i}", "Succeeded", "alice"))
    assert len(status.history) == HISTORY_LIMIT
    assert status.history[0].sha == f"{HISTORY_LIMIT + 2:040x}" and status.last_sync == status.history[0]


async def test_update_rereads_on_a_conflict_and_loses_no_history() -> None:
    api = FakeKubeApi()
    store = StatusStore(api)
    await store.update("qa", "svc", "shop-qa", lambda s: s.with_sync(SyncRecord("1", "t1", "Succeeded", "a")))
    raced = False

    def add_second(s: AppStatus) -> AppStatus:
        nonlocal raced
        if not raced:  # another writer (a ferry sync) records its sync between our read and our write
            raced = True
            cm = api.store[("", "ConfigMap", "shop-qa", "ferry-app-qa-svc")]
            other = decode("qa", "svc", cm["data"]).with_sync(SyncRecord("2", "t2", "Succeeded", "b"))
            api.put(api.types[("v1", "ConfigMap")], {**cm, "data": encode(other)})
        return s.with_sync(SyncRecord("3", "t3", "Failed", "c"))

    final = await store.update("qa", "svc", "shop-qa", add_second)
    assert [r.sha for r in final.history] == ["3", "2", "1"]
    stored = decode("qa", "svc", api.store[("", "ConfigMap", "shop-qa", "ferry-app-qa-svc")]["data"])
    assert [r.sha for r in stored.history] == ["3", "2", "1"]
    labels = api.store[("", "ConfigMap", "shop-qa", "ferry-app-qa-svc")]["metadata"]["labels"]
    assert labels["ferry.dev/kind"] == "app-status" and labels["ferry.dev/environment"] == "qa"


async def test_an_update_that_changes_nothing_writes_nothing() -> None:
    api = FakeKubeApi()
    store = StatusStore(api)
    await store.update("qa", "svc", "shop-qa", lambda s: replace(s, sync="Synced"))
    api.actions.clear()
    await store.update("qa", "svc", "shop-qa", lambda s: replace(s, sync="Synced"))
    assert api.writes() == []


def test_healthy_since_lasts_while_healthy_at_the_same_digest() -> None:
    old = "2000-01-01T00:00:00Z"
    healthy = replace(AppStatus("qa", "svc").with_health("Healthy", "", "sha256:1"), healthy_since=old)
    assert healthy.with_health("Healthy", "", "sha256:1").healthy_since == old
    assert encode(healthy)["healthySince"] == old
    moved = healthy.with_health("Healthy", "", "sha256:2")  # a new digest: the soak starts again
    assert moved.healthy_since not in ("", old) and moved.digest == "sha256:2"
    sick = healthy.with_health("Degraded", "Deployment qa/svc: ProgressDeadlineExceeded", "sha256:1")
    assert sick.healthy_since == "" and sick.health_reason.startswith("Deployment qa/svc")
