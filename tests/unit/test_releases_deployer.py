"""``deploy`` end to end against fakes: the record's states in order, supersede, automatic rollback, refusal."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from ferry.delivery.apply import InvalidObjectError
from ferry.delivery.pins import Pin
from ferry.delivery.releases import (
    DeployPlan,
    MemoryReleaseStore,
    Release,
    ReleaseError,
    ReleaseState,
    RolloutObserver,
    deploy,
)
from ferry.delivery.releases.lease import now
from tests.unit.apply_support import FakeKubeApi, obj

S = ReleaseState
HOLDER = f"{socket.gethostname()}:{1}:test"


def plan(version: str, objects: list[dict[str, Any]], **kw: Any) -> DeployPlan:
    pin = Pin("127.0.0.1:5000/web", version, "sha256:" + version.replace(".", "")[:1] * 64)
    return DeployPlan("web", "sit", "app", "sit-web", pin, objects, who="alice", **kw)


def config(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "app"},
        "data": {"k": name},
    }


class Notes:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def note(self, line: str) -> None:
        self.lines.append(line)

    def progress(self, observer: RolloutObserver) -> None:
        self.lines += observer.lines()


async def test_a_healthy_deploy_goes_pending_deploying_deployed_and_supersedes() -> None:
    kube, store = FakeKubeApi(), MemoryReleaseStore()
    first = await deploy(kube, store, plan("1.0.0", [config("c1")]), holder=HOLDER)
    second = await deploy(kube, store, plan("2.0.0", [config("c2")]), holder=HOLDER)
    assert first.ok and second.ok and second.message == "web in sit: v2 (2.0.0) deployed"
    v2 = [w for w in store.writes if w[1] == "ferry.release.web.v2"]
    assert [w[2] for w in v2] == ["pending", "deploying", "deployed"]
    assert store.writes[-1] == ("update", "ferry.release.web.v1", "superseded")
    assert ("apply", "ConfigMap/c2") in kube.writes() and (
        "delete",
        "ConfigMap/c1",
    ) in kube.writes()  # pruned
    [_, (v2r, _)] = await store.list("app", "web")
    assert v2r.manifest == [config("c2")] and v2r.manifest_digest.startswith("sha256:") and v2r.who == "alice"


async def test_a_failed_apply_rolls_back_to_the_previous_release() -> None:
    kube, store = FakeKubeApi(), MemoryReleaseStore()
    await deploy(kube, store, plan("1.0.0", [config("c1")]), holder=HOLDER)
    kube.fail[("apply", "ConfigMap/c2")] = InvalidObjectError(
        "ConfigMap app/c2: invalid", causes=[], reason="Invalid"
    )
    notes = Notes()
    out = await deploy(kube, store, plan("2.0.0", [config("c2")]), holder=HOLDER, reporter=notes)
    assert not out.ok
    assert out.message == (
        "rollout of web in sit failed: apply failed: ConfigMap app/c2: invalid; rolled back to v1 (1.0.0)"
    )
    v2 = [w[2] for w in store.writes if w[1] == "ferry.release.web.v2"]
    assert v2 == ["pending", "deploying", "failed", "rolling-back", "rolled-back"]
    assert out.release.rolled_back_to == 1
    states = {r.version: r.state for r, _ in await store.list("app", "web")}
    assert states == {1: S.DEPLOYED, 2: S.ROLLED_BACK}
    assert "rolling back to v1 (1.0.0)" in notes.lines


async def test_an_app_that_never_gets_healthy_is_rolled_back_with_the_reason() -> None:
    kube, store = FakeKubeApi(), MemoryReleaseStore()
    await deploy(kube, store, plan("1.0.0", [config("c1")]), holder=HOLDER)
    web = obj("Deployment", "web", api_version="apps/v1", replicas=2)  # the fake never makes it ready
    out = await deploy(kube, store, plan("2.0.0", [config("c1"), web]), holder=HOLDER, timeout_seconds=0.2)
    assert not out.ok and out.message.startswith("rollout of web in sit failed: not healthy after 0.2 s: ")
    assert out.message.endswith("; rolled back to v1 (1.0.0)")
    assert ("delete", "Deployment/web") in kube.writes()  # the rollback's apply pruned what v2 added
    assert out.release.state is S.ROLLED_BACK


async def test_a_first_release_that_fails_has_nothing_to_roll_back_to() -> None:
    kube, store = FakeKubeApi(), MemoryReleaseStore()
    kube.fail[("apply", "ConfigMap/c1")] = InvalidObjectError(
        "ConfigMap app/c1: invalid", causes=[], reason="Invalid"
    )
    out = await deploy(kube, store, plan("1.0.0", [config("c1")]), holder=HOLDER)
    assert out.message.endswith("(no earlier release to roll back to)")
    assert [w[2] for w in store.writes] == ["pending", "deploying", "failed"]


async def test_no_wait_records_deployed_after_the_apply() -> None:
    kube, store = FakeKubeApi(), MemoryReleaseStore()
    web = obj("Deployment", "web", api_version="apps/v1", replicas=2)
    out = await deploy(kube, store, plan("1.0.0", [web]), holder=HOLDER, wait=False)
    assert out.ok and out.release.reason == "applied; health not awaited (--no-wait)"


async def test_a_live_release_in_progress_is_refused_before_anything_is_applied() -> None:
    kube, store = FakeKubeApi(), MemoryReleaseStore()
    await deploy(kube, store, plan("1.0.0", [config("c1")]), holder=HOLDER)
    [(v1, _)] = await store.list("app", "web")
    busy = Release("web", "sit", "app", 2, S.DEPLOYING, "2.0.0", v1.digest, v1.repository,
                   lease_holder="ci-runner:99:x", lease_renewed=now())  # fmt: skip
    await store.create(busy)
    applied_before = list(kube.writes())
    with pytest.raises(ReleaseError, match="revision 2 is deploying by ci-runner:99:x"):
        await deploy(kube, store, plan("3.0.0", [config("c3")]), holder=HOLDER)
    assert kube.writes() == applied_before
