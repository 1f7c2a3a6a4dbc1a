"""Scheduler: pod requests (init containers, sidecars, overhead, limits) and required node affinity."""

from __future__ import annotations

from ferry.cluster.controllers.scheduler import matches_node_affinity, pod_requests
from tests.unit.simkit import container, node, pod


def res(cpu: str | None = None, memory: str | None = None, kind: str = "requests") -> dict[str, object]:
    rl = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"resources": {kind: rl}}


def test_sum_of_containers_max_with_init_containers_plus_overhead() -> None:
    p = pod(
        "p",
        containers=[container("a", **res("250m", "64Mi")), container("b", **res("1", None, kind="limits"))],
        initContainers=[container("init", **res("2", "32Mi"))],
        overhead={"cpu": "100m"},
    )
    requests, nonzero = pod_requests(p)
    assert requests == {"cpu": 2100, "memory": 64 * 2**20}
    assert nonzero == {"cpu": 1250, "memory": 64 * 2**20 + 200 * 2**20}  # b has no memory: 200Mi for scoring


def test_restartable_init_containers_add_up() -> None:
    sidecar = container("proxy", restartPolicy="Always", **res("500m"))
    p = pod(
        "p",
        containers=[container("a", **res("1"))],
        initContainers=[container("first", **res("1200m")), sidecar, container("late", **res("800m"))],
    )
    # containers + sidecar = 1500m; "first" alone 1200m; "late" runs beside the sidecar: 1300m
    assert pod_requests(p)[0] == {"cpu": 1500}


def test_required_node_affinity() -> None:
    def affinity(*terms: dict[str, object]) -> dict[str, object]:
        return {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}
            }
        }

    n = node("n1", labels={"zone": "a", "cores": "8"})
    term_in = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
    term_gt = {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["16"]}]}
    term_name = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
    term_absent = {
        "matchExpressions": [
            {"key": "gpu", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "NotIn", "values": ["c"]},
        ]
    }
    assert matches_node_affinity(pod("p", affinity=affinity(term_in)), n)
    assert not matches_node_affinity(pod("p", affinity=affinity(term_gt)), n)
    assert matches_node_affinity(pod("p", affinity=affinity(term_gt, term_name)), n)  # terms are ORed
    assert matches_node_affinity(pod("p", affinity=affinity(term_absent)), n)
    assert not matches_node_affinity(pod("p", affinity=affinity({})), n)  # an empty term matches nothing
    assert not matches_node_affinity(pod("p", nodeSelector={"zone": "b"}, affinity=affinity(term_in)), n)
