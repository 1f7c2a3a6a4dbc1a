"""Which apps a tick re-renders: only those a commit touched (or whose chart changed), with stable hashes."""

from __future__ import annotations

from pathlib import Path

from ferry.delivery.gitops import DesiredStates
from tests.unit.gitops_support import world

SERVICES = ("order-service", "payment-service", "auth-service")


def test_a_commit_touching_envs_qa_order_service_re_renders_only_that_app(tmp_path: Path) -> None:
    w = world(tmp_path)
    for env in ("sit", "qa"):
        for service in SERVICES:
            w.pin(env, service)
    states = DesiredStates(w.platform, w.repo)
    first = w.repo.head()
    assert first is not None
    touched = states.refresh(first)
    # Everything is rendered the first time; apps never pinned (prod, demo-api, api-gateway) are left out.
    assert set(states.apps) == {(e, s) for e in ("sit", "qa") for s in SERVICES}
    assert touched >= set(states.apps)
    hashes = {k: d.hash for k, d in states.apps.items()}
    assert all(d.error == "" and d.app is not None for d in states.apps.values())

    second = w.commit("envs/qa/order-service/values.yaml", "replicaCount: 6\n")
    assert states.refresh(second) == {("qa", "order-service")}
    assert states.apps[("qa", "order-service")].hash != hashes[("qa", "order-service")]
    for key, desired in states.apps.items():
        assert desired.revision == second  # every app is now "at" the new commit...
        if key != ("qa", "order-service"):
            assert desired.hash == hashes[key]  # ...with the same desired state as before

    # A commit that changes nothing for any app (the README) re-renders nothing.
    assert states.refresh(w.commit("README.md", "# config, edited\n")) == set()


def test_an_environment_wide_values_file_touches_every_service_there(tmp_path: Path) -> None:
    w = world(tmp_path)
    for env in ("sit", "qa"):
        w.pin(env, "order-service")
        w.pin(env, "auth-service")
    states = DesiredStates(w.platform, w.repo)
    states.refresh(str(w.repo.head()))
    touched = states.refresh(w.commit("envs/sit/values.yaml", "env:\n  LOG_LEVEL: debug\n"))
    assert {k for k in touched if k in states.apps} == {("sit", "order-service"), ("sit", "auth-service")}


def test_a_chart_edited_on_disk_re_renders_that_service_everywhere(tmp_path: Path) -> None:
    w = world(tmp_path)
    for env in ("sit", "qa"):
        w.pin(env, "order-service")
        w.pin(env, "auth-service")
    states = DesiredStates(w.platform, w.repo)
    head = str(w.repo.head())
    states.refresh(head)
    before = states.apps[("sit", "auth-service")].hash
    values = w.root / "helm" / "auth-service" / "values.yaml"
    values.write_text(values.read_text().replace("replicaCount: 2", "replicaCount: 3"))
    touched = states.refresh(head)
    assert {k for k in touched if k in states.apps} == {("sit", "auth-service"), ("qa", "auth-service")}
    assert states.apps[("sit", "auth-service")].hash != before


def test_a_broken_chart_is_that_apps_error_only(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service")
    w.pin("sit", "auth-service")
    template = w.root / "helm" / "auth-service" / "templates" / "deployment.yaml"
    template.write_text(template.read_text() + '\n{{ .Values.nope | required "nope is required" }}\n')
    states = DesiredStates(w.platform, w.repo)
    states.refresh(str(w.repo.head()))
    broken = states.apps[("sit", "auth-service")]
    assert broken.app is None and "nope is required" in broken.error and "\n" not in broken.error
    assert states.apps[("sit", "order-service")].app is not None
