"""Scheduler: taints (NoSchedule/NoExecute) against tolerations, and spec.unschedulable."""

from __future__ import annotations

import pytest

from ferry.cluster.controllers.scheduler import Scheduler, tolerates
from tests.unit.simkit import Cluster, node, pod

TAINT = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("toleration", "ok"),
    [
        ({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}, True),
        ({"key": "dedicated", "value": "gpu"}, True),  # operator defaults to Equal, any effect
        ({"key": "dedicated", "operator": "Equal", "value": "cpu"}, False),
        ({"key": "dedicated", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),  # empty key + Exists tolerates everything
        ({"operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "other", "operator": "Exists"}, False),
        ({"key": "dedicated", "operator": "Bogus"}, False),
    ],
)
def test_tolerates(toleration: dict[str, str], ok: bool) -> None:
    assert tolerates(toleration, TAINT) is ok


async def test_prefer_no_schedule_is_ignored_and_no_execute_filters() -> None:
    c = Cluster()
    soft = node("soft", taints=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}])
    hard = node("hard", taints=[{"key": "k", "value": "v", "effect": "NoExecute"}])
    c.add(hard, soft, pod("p"))
    await Scheduler(c.pods, c.nodes, c.client, c.recorder, c.clock).sync("default/p")
    assert c.take_actions()[0][3]["target"]["name"] == "soft"


async def test_the_first_untolerated_taint_is_reported() -> None:
    c = Cluster()
    taints = [TAINT, {"key": "zone", "value": "a", "effect": "NoExecute"}]
    c.add(node("n1", taints=taints), pod("p", tolerations=[{"key": "dedicated", "operator": "Exists"}]))
    await Scheduler(c.pods, c.nodes, c.client, c.recorder, c.clock).sync("default/p")
    msg = c.take_actions()[0][3]["status"]["conditions"][0]["message"]
    assert msg == "0/1 nodes are available: 1 node(s) had untolerated taint {zone: a}."


async def test_unschedulable_node_unless_tolerated() -> None:
    c = Cluster()
    c.add(node("n1", unschedulable=True), pod("p"))
    tolerant = pod(
        "t",
        tolerations=[
            {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}
        ],
    )
    c.add(tolerant)
    s = Scheduler(c.pods, c.nodes, c.client, c.recorder, c.clock)
    await s.sync("default/p")
    await s.sync("default/t")
    actions = c.take_actions()
    assert actions[0][3]["status"]["conditions"][0]["message"] == (
        "0/1 nodes are available: 1 node(s) were unschedulable."
    )
    assert actions[1][:2] == ("create", "v1/pods/binding") and actions[1][3]["target"]["name"] == "n1"
