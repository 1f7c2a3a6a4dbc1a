"""Rolling-update arithmetic: the tables of k8s-semantics.md §1.5 and kube's ResolveFenceposts comments."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.cluster.controllers.deployment import DeploymentSyncError
from ferry.cluster.controllers.deployment.fenceposts import (
    max_surge,
    max_unavailable,
    min_available,
    new_rs_new_replicas,
    resolve_fenceposts,
    scaled_value,
)
from tests.unit.deployment_world import make_deployment


def rolling(replicas: int, surge: Any, unavailable: Any) -> dict[str, Any]:
    return make_deployment(
        replicas=replicas,
        strategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
        },
    )


def rs(replicas: int) -> dict[str, Any]:
    return {"metadata": {"name": f"rs-{replicas}"}, "spec": {"replicas": replicas}}


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "expected"),
    [
        (10, "25%", "25%", (3, 2)),  # surge rounds up (2.5 → 3), unavailable down (2.5 → 2)
        (1, "25%", "25%", (1, 0)),
        (4, "25%", "25%", (1, 1)),
        (3, "50%", "50%", (2, 1)),
        (100, "10%", "0%", (10, 0)),
        (10, 2, 3, (2, 3)),  # ints are used as they are
        (10, 0, 0, (0, 1)),  # both-zero rule
        (2, "1%", "1%", (1, 0)),  # 1% of 2 rounds up to 1 surge, down to 0 unavailable
        (2, "0%", "1%", (0, 1)),  # both resolve to 0 → unavailable 1
        (1, "0%", "25%", (0, 1)),
        (0, "25%", "25%", (0, 1)),
        (10, None, None, (0, 1)),  # unset counts as 0, then the both-zero rule
    ],
)
def test_resolve_fenceposts(replicas: int, surge: Any, unavailable: Any, expected: tuple[int, int]) -> None:
    assert resolve_fenceposts(surge, unavailable, desired=replicas) == expected


def test_deployment_level_values_10_replicas_25_percent() -> None:
    d = rolling(10, "25%", "25%")
    assert (max_surge(d), max_unavailable(d), min_available(d)) == (3, 2, 8)


def test_deployment_level_values_one_replica() -> None:
    d = rolling(1, "25%", "25%")
    assert (max_surge(d), max_unavailable(d), min_available(d)) == (1, 0, 1)


def test_max_unavailable_is_capped_at_replicas_and_zero_for_zero_replicas() -> None:
    assert max_unavailable(rolling(3, 0, 5)) == 3
    assert max_unavailable(rolling(0, "25%", "25%")) == 0


def test_recreate_has_no_surge_and_no_unavailability_budget() -> None:
    d = make_deployment(replicas=5, strategy={"type": "Recreate"})
    assert (max_surge(d), max_unavailable(d), min_available(d)) == (0, 0, 0)


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expected"),
    [
        ("25%", 10, True, 3),
        ("25%", 10, False, 2),
        ("100%", 7, False, 7),
        ("33%", 3, True, 1),
        (4, 10, True, 4),
    ],
)
def test_scaled_value(value: Any, total: int, round_up: bool, expected: int) -> None:
    assert scaled_value(value, total, round_up=round_up) == expected


@pytest.mark.parametrize("value", ["25", "abc%", "%"])
def test_scaled_value_rejects_strings_that_are_not_percentages(value: str) -> None:
    with pytest.raises(DeploymentSyncError, match="invalid value for IntOrString"):
        scaled_value(value, 10, round_up=True)


@pytest.mark.parametrize(
    ("sizes", "new_size", "expected"),
    [
        ([10], 0, 3),  # room for the whole surge: 10 + 3 - 10
        ([8], 3, 5),  # old scaled down to 8: the new RS may reach 13 - 8 = 5
        ([10], 3, 3),  # already at replicas + surge: stays
        ([0], 5, 10),  # never beyond replicas
        ([], 0, 10),  # brand-new Deployment: the first RS at full size
    ],
)
def test_new_rs_new_replicas_rolling(sizes: list[int], new_size: int, expected: int) -> None:
    d = rolling(10, "25%", "25%")
    new_rs = rs(new_size)
    assert new_rs_new_replicas(d, [*map(rs, sizes), new_rs], new_rs=new_rs) == expected


def test_new_rs_new_replicas_recreate_is_always_the_full_count() -> None:
    d = make_deployment(replicas=4, strategy={"type": "Recreate"})
    assert new_rs_new_replicas(d, [rs(4), rs(0)], new_rs=rs(0)) == 4
