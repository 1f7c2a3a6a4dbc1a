"""A pin deleted from the config repo: with prune the app's objects, inventory and status go (Argo CD's
cascading delete); without, they stay and the status says OutOfSync/orphaned with what is kept."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import pytest

from ferry.delivery.apply import ClusterUnreachableError
from ferry.delivery.gitops import Operation, StatusStore
from ferry.delivery.gitops.loop import SWEEP
from tests.unit.configrepo_support import git
from tests.unit.gitops_support import World, one_pass, world


def delete_pin(w: World, env: str, service: str) -> str:
    git(w.repo.path, "rm", "--quiet", "-r", f"envs/{env}/{service}")
    git(w.repo.path, "commit", "--quiet", "-m", f"retire {service} from {env}")
    return git(w.repo.path, "rev-parse", "HEAD")


def app_objects(w: World, env: str, service: str) -> list[tuple[str, str]]:
    ns = w.platform.environment(env).namespace
    return sorted(
        (kind, name)
        for (_, kind, namespace, name), o in w.api.store.items()
        if namespace == ns and (o["metadata"].get("labels") or {}).get("ferry.dev/app") == f"{env}-{service}"
    )


async def test_a_deleted_pin_prunes_the_app_and_removes_its_status(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service")
    w.pin("sit", "auth-service")
    reconciler = w.reconciler()
    await one_pass(reconciler)
    assert ("Deployment", "order-service") in app_objects(w, "sit", "order-service")
    kept_before = app_objects(w, "sit", "auth-service")
    delete_pin(w, "sit", "order-service")
    w.api.actions.clear()
    await one_pass(reconciler)
    assert app_objects(w, "sit", "order-service") == []
    assert w.status("sit", "order-service") is None
    assert ("", "ConfigMap", "shop-sit", "ferry-inventory-sit-order-service") not in w.api.store
    deletes = [name for verb, name in w.api.writes() if verb == "delete"]
    assert deletes[-2:] == [
        "ConfigMap/ferry-inventory-sit-order-service",
        "ConfigMap/ferry-app-sit-order-service",
    ]
    assert "Deployment/order-service" in deletes
    assert app_objects(w, "sit", "auth-service") == kept_before  # the other app is untouched
    assert w.status("sit", "auth-service") is not None and not reconciler.failed
    w.api.actions.clear()
    await one_pass(reconciler)  # nothing left to do
    assert w.api.writes() == []


async def test_a_reconciler_started_after_the_deletion_still_prunes(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service")
    await one_pass(w.reconciler())
    delete_pin(w, "sit", "order-service")
    await one_pass(w.reconciler())  # a fresh process: it knows of the app only from the cluster
    assert app_objects(w, "sit", "order-service") == [] and w.status("sit", "order-service") is None


async def test_without_prune_the_objects_stay_and_the_app_is_reported_orphaned(tmp_path: Path) -> None:
    w = world(tmp_path, sync={"qa": "{mode: auto, prune: false}"})
    w.pin("qa", "order-service")
    reconciler = w.reconciler()
    await one_pass(reconciler)
    before = app_objects(w, "qa", "order-service")
    head = delete_pin(w, "qa", "order-service")
    await one_pass(reconciler)
    assert app_objects(w, "qa", "order-service") == before != []
    status = w.status("qa", "order-service")
    assert status is not None and status["sync"] == "OutOfSync"
    assert status["message"] == (
        f"orphaned: order-service is no longer pinned in qa (config repo at {head[:7]}); "
        f"{len(before) - 1} object(s) kept because sync.prune is off"
    )
    assert "Deployment shop-qa/order-service: orphaned" in json.loads(status["drift"])
    w.api.actions.clear()
    await one_pass(reconciler)
    assert w.api.writes() == []  # reported once, not rewritten every tick


async def test_an_orphan_still_synced_by_a_live_process_is_left_alone(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service")
    reconciler = w.reconciler()
    await one_pass(reconciler)
    delete_pin(w, "sit", "order-service")
    live = Operation("abc", "h", "Applying", "ferry sync", "another-host/1", "2999-01-01T00:00:00Z")
    await StatusStore(w.api).update("sit", "order-service", "shop-sit", lambda s: replace(s, operation=live))
    await one_pass(reconciler)
    assert w.status("sit", "order-service") is not None
    assert ("Deployment", "order-service") in app_objects(w, "sit", "order-service")


async def test_an_environment_that_cannot_be_listed_is_logged_not_a_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service")

    async def unreachable(*_: object, **__: object) -> NoReturn:
        raise ClusterUnreachableError("cannot reach the cluster at https://fake.invalid: refused")

    w.api.list = unreachable  # type: ignore[method-assign]
    reconciler = w.reconciler()
    await one_pass(reconciler)
    assert (
        "sit: cannot look for deleted apps: cannot reach the cluster at https://fake.invalid" in caplog.text
    )
    assert SWEEP not in reconciler.failed
