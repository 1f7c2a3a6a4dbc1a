"""Scheduler: unschedulable pods come back when nodes or pods change (the handlers return their keys)."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.scheduler import Scheduler
from tests.unit.simkit import Cluster, container, node, pod


def heavy(name: str, bound: str | None = None) -> dict[str, object]:
    return pod(name, node=bound, containers=[container(resources={"requests": {"cpu": "3"}})])


async def test_a_new_node_requeues_and_binds() -> None:
    c = Cluster()
    c.add(node("n1", cpu="2"), heavy("p"))
    s = Scheduler(c.pods, c.nodes, c.client, c.recorder, c.clock)
    await s.sync("default/p")
    c.take_actions()
    bigger = node("n2", cpu="4")
    c.add(bigger)
    assert s.on_node_add(bigger) == ["default/p"]
    await s.sync("default/p")
    assert [(a[1], a[3]["target"]["name"]) for a in c.take_actions()] == [("v1/pods/binding", "n2")]
    assert s.on_node_add(node("n3")) == []  # nothing is waiting any more


async def test_a_freed_node_requeues_and_heartbeats_do_not() -> None:
    c = Cluster()
    n1 = node("n1", cpu="4")
    hog = heavy("hog", bound="n1")
    c.add(n1, hog, heavy("p"))
    s = Scheduler(c.pods, c.nodes, c.client, c.recorder, c.clock)
    await s.sync("default/p")
    assert "Insufficient cpu" in c.take_actions()[0][3]["status"]["conditions"][0]["message"]
    beat = copy.deepcopy(n1)
    beat["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    assert s.on_node_update(n1, beat) == []
    done = copy.deepcopy(hog)
    done["status"]["phase"] = "Succeeded"
    assert s.on_pod_update(hog, done) == ["default/p"]
    c.add(done)
    await s.sync("default/p")
    assert [a[1] for a in c.take_actions()] == ["v1/pods/binding"]


async def test_deleting_a_bound_pod_requeues() -> None:
    c = Cluster()
    hog = heavy("hog", bound="n1")
    c.add(node("n1", cpu="4"), hog, heavy("p"))
    s = Scheduler(c.pods, c.nodes, c.client, c.recorder, c.clock)
    await s.sync("default/p")
    c.take_actions()
    c.pods.remove("default", "hog")
    assert s.on_pod_delete(hog) == ["default/p"]
    await s.sync("default/p")
    assert [a[1] for a in c.take_actions()] == ["v1/pods/binding"]
    assert s.on_pod_delete(pod("unrelated")) == []


def sized(
    name: str, cpu: str, bound: str | None = None, selector: dict[str, str] | None = None
) -> dict[str, object]:
    p = pod(name, node=bound, containers=[container(resources={"requests": {"cpu": cpu}})])
    if selector:
        p["spec"]["nodeSelector"] = selector  # type: ignore[index]
    return p


async def test_a_freed_slot_requeues_only_the_pods_that_fit_there_together() -> None:
    c = Cluster()
    a = sized("a", "2", bound="n1")
    b = sized("b", "2", bound="n1")
    waiting = [sized(f"w{i}", "1") for i in range(4)]
    picky = sized("picky", "1", selector={"disk": "ssd"})  # n1 has no such label
    c.add(node("n1", cpu="4"), a, b, *waiting, picky)
    s = Scheduler(c.pods, c.nodes, c.client, c.recorder, c.clock)
    for p in [*waiting, picky]:
        result = await s.sync(f"default/{p['metadata']['name']}")  # type: ignore[index]
        assert result is not None and result.requeue_after_seconds == 30.0  # retried even without events
    c.take_actions()
    c.pods.remove("default", "a")
    # 2 cpus freed: two 1-cpu pods fit together, not four; the picky pod cannot use n1 at all.
    assert s.on_pod_delete(a) == ["default/w0", "default/w1"]
    await s.sync("default/w0")
    await s.sync("default/w1")
    assert [a_[1] for a_ in c.take_actions()] == ["v1/pods/binding", "v1/pods/binding"]
    done = copy.deepcopy(b)
    done["status"]["phase"] = "Succeeded"  # type: ignore[index]
    assert s.on_pod_update(b, done) == ["default/w2", "default/w3"]
