"""Scale down deletes exactly the pods kube's ranking puts first: one test per rule.

Each test builds two (or three) pods that tie on every earlier rule, differ on the rule under test,
and are arranged so that the *later* rules would pick the other pod, proving the rule's precedence.
"""

from __future__ import annotations

import pytest

from ferry.cluster.controllers.replicaset.ranking import deletion_cost
from tests.unit.replicaset_support import KEY, NS, PODS, Harness, deleted_names, pod_obj, rs_obj


async def _scale_down(h: Harness) -> list[str]:
    """One pass; returns the deleted pod names after checking events and convergence."""
    await h.sync()
    names = deleted_names(h.take_actions())
    assert h.take_events() == [(KEY, "Normal", "SuccessfulDelete", f"Deleted pod: {n}") for n in names]
    h.deliver()
    await h.sync()  # the status catches up with the deletions
    h.take_actions()
    h.deliver()
    await h.sync()
    assert h.take_actions() == []
    return names


def _harness(*pods_spec: dict[str, object], replicas: int = 1, **rs_kw: object) -> Harness:
    h = Harness()
    rs = rs_obj(replicas=replicas, **rs_kw)  # type: ignore[arg-type]
    h.listers["apps/v1/replicasets"].put(rs)
    for spec in pods_spec:
        spec = dict(spec)
        name = str(spec.pop("name"))
        h.listers[PODS].put(pod_obj(name, h.clock, owner=rs, **spec))  # type: ignore[arg-type]
    h.deliver()
    h.enqueued.clear()
    return h


async def test_rule1_unassigned_before_assigned() -> None:
    h = _harness(
        {"name": "a", "node": None, "cost": "100"},  # ready, expensive: rules 3 and 4 would keep it
        {"name": "b", "ready": False},
    )
    assert await _scale_down(h) == ["a"]


async def test_rule2_pending_before_unknown_before_running() -> None:
    h = _harness(
        {"name": "a-running", "phase": "Running", "ready": False},
        {"name": "b-unknown", "phase": "Unknown", "ready": True},
        {"name": "c-pending", "phase": "Pending", "ready": True, "cost": "100"},
    )
    assert await _scale_down(h) == ["c-pending", "b-unknown"]


async def test_rule3_not_ready_before_ready() -> None:
    h = _harness({"name": "a", "ready": False, "cost": "5"}, {"name": "b", "ready": True, "cost": "-5"})
    assert await _scale_down(h) == ["a"]


async def test_rule4_lower_pod_deletion_cost_first() -> None:
    h = _harness(
        {"name": "a", "cost": "10", "ready_for": 3600},
        {"name": "b", "cost": "20", "ready_for": 10},  # more recently ready: rule 6 would pick b
    )
    assert await _scale_down(h) == ["a"]


@pytest.mark.parametrize(
    ("value", "cost"),
    [
        ("7", 7),
        ("-3", -3),
        ("0", 0),
        ("-05", -5),
        ("+1", 0),
        ("007", 0),
        ("1.5", 0),
        ("x", 0),
        ("", 0),
        (" 1", 0),
        ("2147483647", 2147483647),
        ("2147483648", 0),
        ("-2147483648", -2147483648),
    ],
)
def test_rule4_cost_is_parsed_like_kube(value: str, cost: int) -> None:
    pod = {"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": value}}}
    assert deletion_cost(pod) == cost


async def test_rule5_pods_doubled_up_on_a_node_with_sibling_pods_go_first() -> None:
    h = Harness()
    rs = rs_obj(owner_uid="dep-uid", replicas=2)
    sibling = rs_obj(
        "web-old", uid="old-uid", owner_uid="dep-uid", replicas=1, selector={"app": "web", "v": "old"}
    )
    h.listers["apps/v1/replicasets"].put(rs)
    h.listers["apps/v1/replicasets"].put(sibling)
    old_labels = {"app": "web", "v": "old"}
    h.listers[PODS].put(pod_obj("s", h.clock, owner=sibling, labels=old_labels, node="node-1"))
    h.listers[PODS].put(pod_obj("a", h.clock, owner=rs, node="node-1", ready_for=3600))
    h.listers[PODS].put(pod_obj("b", h.clock, owner=rs, node="node-2", ready_for=10))
    h.listers[PODS].put(pod_obj("c", h.clock, owner=rs, node="node-3", ready_for=10))
    h.deliver()
    # node-1 holds a and the sibling's s (rank 2); b and c are alone (rank 1), and more recently ready.
    assert await _scale_down(h) == ["a"]


async def test_rule5_without_an_owner_there_is_no_rank() -> None:
    h = _harness(
        {"name": "a", "node": "node-1", "ready_for": 3600},
        {"name": "b", "node": "node-1", "ready_for": 3600},
        {"name": "c", "node": "node-2", "ready_for": 10},
        replicas=2,
    )
    assert await _scale_down(h) == ["c"]  # rank would have picked a node-1 pod; rule 6 decides instead


async def test_rule6_more_recently_ready_first() -> None:
    h = _harness({"name": "a", "ready_for": 10}, {"name": "b", "ready_for": 1000, "restarts": 5})
    assert await _scale_down(h) == ["a"]


async def test_rule6_ready_times_in_one_log2_bucket_tie_on_uid() -> None:
    # 100 s and 110 s are both in bucket floor(log2(ns)) = 36: the lower UID goes, though it is older.
    h = _harness(
        {"name": "a", "ready_for": 100, "uid": "uid-b"}, {"name": "b", "ready_for": 110, "uid": "uid-a"}
    )
    assert await _scale_down(h) == ["b"]


async def test_rule6_a_missing_ready_time_counts_as_newest() -> None:
    h = _harness({"name": "a", "ready_for": 10}, {"name": "b", "ready_for": None, "restarts": 0}, replicas=1)
    assert await _scale_down(h) == ["b"]


async def test_rule7_more_restarts_first() -> None:
    h = _harness(
        {"name": "a", "restarts": 3, "created_ago": 7200}, {"name": "b", "restarts": 1, "created_ago": 10}
    )
    assert await _scale_down(h) == ["a"]


async def test_rule8_newer_pods_first() -> None:
    h = _harness({"name": "a", "created_ago": 1000}, {"name": "b", "created_ago": 10, "uid": "uid-z"})
    assert await _scale_down(h) == ["b"]


async def test_rule8_creation_times_in_one_log2_bucket_tie_on_uid() -> None:
    h = _harness(
        {"name": "a", "created_ago": 100, "uid": "uid-b"}, {"name": "b", "created_ago": 110, "uid": "uid-a"}
    )
    assert await _scale_down(h) == ["b"]


async def test_everything_equal_keeps_the_listed_order() -> None:
    h = _harness({"name": "a"}, {"name": "b"}, {"name": "c"}, replicas=1)
    assert await _scale_down(h) == ["a", "b"]
    assert sorted(k[1] for k in h.listers[PODS].objects) == ["c"]
    assert h.listers[PODS].get(NS, "c") is not None
