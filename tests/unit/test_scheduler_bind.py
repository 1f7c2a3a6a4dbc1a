"""Scheduler: a pending pod is bound through pods/binding to the least-allocated node that fits."""

from __future__ import annotations

from ferry.cluster.controllers.scheduler import Scheduler
from tests.unit.simkit import Cluster, container, node, pod


def scheduler(c: Cluster) -> Scheduler:
    return Scheduler(c.pods, c.nodes, c.client, c.recorder, c.clock)


def binding(name: str, target: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": target},
    }


async def test_binds_to_the_least_allocated_node_then_does_nothing() -> None:
    c = Cluster()
    busy = pod("busy", node="n1", containers=[container(resources={"requests": {"cpu": "2"}})])
    c.add(node("n1"), node("n2"), busy, pod("web"))
    s = scheduler(c)
    await s.sync("default/web")
    assert c.take_actions() == [("create", "v1/pods/binding", "default", binding("web", "n2"))]
    assert c.take_events() == [
        ("default/web", "Normal", "Scheduled", "Successfully assigned default/web to n2")
    ]
    bound = c.pods.get("default", "web")
    assert bound is not None and bound["spec"]["nodeName"] == "n2"
    assert [x["type"] for x in bound["status"]["conditions"]] == ["PodScheduled"]
    await s.sync("default/web")
    assert c.take_actions() == [] and c.take_events() == []


async def test_ties_go_to_the_lower_name_and_assumed_pods_count_before_the_cache_shows_them() -> None:
    c = Cluster()
    c.add(node("n2"), node("n1"), pod("a"), pod("b"), pod("c"))
    s = scheduler(c)
    for name in ("a", "b", "c"):
        await s.sync(f"default/{name}")
    targets = [a[3]["target"]["name"] for a in c.take_actions()]
    assert targets == ["n1", "n2", "n1"]


async def test_a_stale_cache_never_binds_twice() -> None:
    c = Cluster()
    c.add(node("n1"), pod("web"))
    s = scheduler(c)
    await s.sync("default/web")
    c.take_actions()
    c.pods.put(pod("web"))  # the informer has not caught up with the binding yet
    await s.sync("default/web")
    assert c.take_actions() == []


async def test_pods_for_other_schedulers_bound_or_terminating_pods_are_left_alone() -> None:
    c = Cluster()
    other = pod("other", schedulerName="my-scheduler")
    gone = pod("gone")
    gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:30Z"
    c.add(node("n1"), other, gone, pod("bound", node="n1"))
    s = scheduler(c)
    for name in ("other", "gone", "bound", "missing"):
        await s.sync(f"default/{name}")
    assert c.take_actions() == []
    assert s.on_pod_add(other) == [] and s.on_pod_add(pod("new")) == ["default/new"]


async def test_a_binding_conflict_is_not_an_error() -> None:
    from ferry.cluster.controllers.runtime.types import ApiStatusError

    c = Cluster()
    c.add(node("n1"), pod("web"))
    c.client.fail[("create", "v1/pods/binding")] = ApiStatusError(
        {"code": 409, "reason": "Conflict", "message": 'pod web is already assigned to node "n9"'}
    )
    s = scheduler(c)
    await s.sync("default/web")
    assert [a[:2] for a in c.take_actions()] == [("create", "v1/pods/binding")]
    assert c.take_events() == []
