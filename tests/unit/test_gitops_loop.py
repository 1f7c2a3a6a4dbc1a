"""The reconcile loop against a recording fake cluster: first sync, only changed apps, manual policy, drift,
a broken chart, and who/what the status records."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from ferry.delivery.gitops import sync_now
from ferry.delivery.gitops.desired import Desired
from tests.unit.gitops_support import one_pass, world


async def test_first_pass_syncs_every_pinned_app_and_records_it(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service", author="alice <alice@example.invalid>")
    w.pin("sit", "auth-service", author="bob <bob@example.invalid>")
    await one_pass(w.reconciler())
    head = w.repo.head()
    for service, who in (("order-service", "alice"), ("auth-service", "bob")):
        dep = w.deployment("sit", service)
        assert dep is not None
        assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f"@sha256:{1:064x}")
        status = w.status("sit", service)
        assert status is not None
        assert status["sync"] == "Synced" and status["operation"] == "" and status["revision"] == head
        last = json.loads(status["lastSync"])
        assert (last["sha"], last["result"], last["who"]) == (head, "Succeeded", who)
        assert json.loads(status["history"]) == [last]
        assert status["syncedHash"] == status["desiredHash"] != ""
    assert w.deployment("qa", "order-service") is None  # never pinned in qa: nothing there
    assert w.status("qa", "order-service") is None


async def test_a_commit_to_one_app_writes_only_that_app(tmp_path: Path) -> None:
    w = world(tmp_path)
    for env in ("sit", "qa"):
        w.pin(env, "order-service")
        w.pin(env, "payment-service")
    reconciler = w.reconciler()
    await one_pass(reconciler)
    w.api.actions.clear()
    w.commit("envs/qa/order-service/values.yaml", "replicaCount: 6\n")
    await one_pass(reconciler)
    written = {name for verb, name in w.api.writes()}
    assert written == {"Deployment/order-service", "ConfigMap/ferry-app-qa-order-service"}
    dep = w.deployment("qa", "order-service")
    assert dep is not None and dep["spec"]["replicas"] == 6
    other = w.deployment("sit", "order-service")
    assert other is not None and other["spec"]["replicas"] == 4
    # A pass with no new commit and no drift writes nothing at all.
    w.api.actions.clear()
    await one_pass(reconciler)
    assert w.api.writes() == []


async def test_manual_policy_reports_out_of_sync_until_ferry_sync(tmp_path: Path) -> None:
    w = world(tmp_path, sync={"qa": "manual"})
    w.pin("qa", "order-service")
    reconciler = w.reconciler()
    await one_pass(reconciler)
    assert w.deployment("qa", "order-service") is None  # nothing applied
    status = w.status("qa", "order-service")
    assert status is not None and status["sync"] == "OutOfSync"
    assert (
        "manual sync policy" in status["message"] and "ferry sync order-service --env qa" in status["message"]
    )
    assert "Deployment shop-qa/order-service: missing" in json.loads(status["drift"])
    assert status["lastSync"] == ""

    result = await sync_now(
        w.platform,
        w.repo,
        "qa",
        "order-service",
        clusters=reconciler.clusters,
        who="carol",
        health_timeout_seconds=0.05,
    )
    assert result.sync == "Synced" and result.last_sync is not None and result.last_sync.who == "carol"
    assert w.deployment("qa", "order-service") is not None
    await one_pass(reconciler)
    status = w.status("qa", "order-service")
    assert status is not None and status["sync"] == "Synced" and status["message"] == ""


async def test_drift_is_healed_with_self_heal_and_reported_without(tmp_path: Path) -> None:
    w = world(tmp_path, sync={"qa": "{mode: auto, selfHeal: false}"})
    w.pin("sit", "order-service")
    w.pin("qa", "order-service")
    reconciler = w.reconciler()
    await one_pass(reconciler)
    for env in ("sit", "qa"):
        dep = w.deployment(env, "order-service")
        assert dep is not None
        dep["spec"]["replicas"] = 9  # kubectl scale, by hand
    await one_pass(reconciler)
    healed = w.deployment("sit", "order-service")
    assert healed is not None and healed["spec"]["replicas"] == 4
    sit = w.status("sit", "order-service")
    assert sit is not None and sit["sync"] == "Synced"
    assert json.loads(sit["lastSync"])["who"] == "ferry (self-heal)"
    assert len(json.loads(sit["history"])) == 2

    kept = w.deployment("qa", "order-service")
    assert kept is not None and kept["spec"]["replicas"] == 9
    qa = w.status("qa", "order-service")
    assert qa is not None and qa["sync"] == "OutOfSync"
    assert json.loads(qa["drift"]) == ["Deployment shop-qa/order-service: spec.replicas"]
    assert qa["message"] == "drift (selfHeal off): Deployment shop-qa/order-service: spec.replicas"
    assert len(json.loads(qa["history"])) == 1


async def test_a_broken_chart_fails_its_app_and_the_others_still_sync(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service")
    w.pin("sit", "auth-service")
    template = w.root / "helm" / "auth-service" / "templates" / "deployment.yaml"
    template.write_text(template.read_text().replace("{{- with .Values.env }}", "{{- with .Values.env }"))
    reconciler = w.reconciler()
    await one_pass(reconciler)
    assert w.deployment("sit", "order-service") is not None
    assert w.deployment("sit", "auth-service") is None
    broken = w.status("sit", "auth-service")
    assert broken is not None and broken["sync"] == "Unknown"
    assert broken["message"].startswith(f"cannot render {str(w.repo.head())[:7]}: ")
    assert json.loads(broken["lastSync"])["result"] == "Failed"
    assert reconciler.failed == {("sit", "auth-service")}
    # The same error on the next pass adds no second history entry.
    await one_pass(reconciler)
    again = w.status("sit", "auth-service")
    assert again is not None and len(json.loads(again["history"])) == 1


async def test_a_commit_for_a_busy_app_asks_for_a_tick_when_the_busy_task_ends(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service")
    reconciler = w.reconciler()
    await one_pass(reconciler)
    release = asyncio.Event()
    original = reconciler._reconcile

    async def slow(desired: Desired) -> bool:  # a drift check that takes a while
        await release.wait()
        return await original(desired)

    reconciler._reconcile = slow  # type: ignore[method-assign]
    await reconciler.tick()  # starts the (slow) drift check for the current hash
    await reconciler.tick()  # same hash, still busy: nothing newer to come back for
    await asyncio.sleep(0)
    w.commit("envs/sit/order-service/values.yaml", "replicaCount: 6\n")
    reconciler.trigger.clear()
    await reconciler.tick()  # busy with the old hash: skipped, but remembered
    assert not reconciler.trigger.is_set()
    release.set()
    await reconciler.wait_idle()
    await asyncio.sleep(0)  # done callbacks run on the next loop iteration
    assert reconciler.trigger.is_set()
    reconciler.trigger.clear()
    await one_pass(reconciler)  # the tick the poke asked for syncs the commit
    dep = w.deployment("sit", "order-service")
    assert dep is not None and dep["spec"]["replicas"] == 6
