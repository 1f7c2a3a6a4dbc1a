"""Rolling-update arithmetic: how many pods above and below ``spec.replicas`` a rollout may go.

Pure functions over the Deployment dict (k8s-semantics.md §1.5), kept apart from the code that
writes so the tables of the reference can be tested directly:

* ``maxSurge`` rounds a percentage **up**, ``maxUnavailable`` rounds **down**; an unset value counts
  as 0. 10 replicas at 25%/25% give surge 3 and unavailable 2; 1 replica gives 1 and 0.
* **Both-zero rule**: when both resolve to 0 (``1%``/``1%`` of 2 replicas, or a Deployment whose
  ``rollingUpdate`` was never defaulted), unavailable becomes 1, or a rollout could never move.
* ``MaxUnavailable`` is 0 for Recreate and for 0 replicas, and never exceeds replicas.
* ``new_rs_new_replicas``: the size a rolling update may grow the new ReplicaSet to right now,
  keeping the total of all ReplicaSets' ``spec.replicas`` within replicas + surge. Recreate always
  gets the full count, so a brand-new Deployment's first ReplicaSet is created at full size.

Percentages use exact integer arithmetic (Go uses float64 ceil/floor, identical for these ranges).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ferry.cluster.controllers.deployment.accessors import (
    DeploymentSyncError,
    is_rolling_update,
    replicas,
    spec,
    strategy_type,
)
from ferry.cluster.controllers.runtime.types import Obj

_PERCENT = re.compile(r"([+-]?\d+)%")


def scaled_value(value: int | str | None, total: int, *, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent`` (an unset value is 0, as ``ValueOrDefault`` gives)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise DeploymentSyncError(f"invalid value for IntOrString: invalid type: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if not value.endswith("%"):
            raise DeploymentSyncError(
                "invalid value for IntOrString: invalid type: string is not a percentage"
            )
        match = _PERCENT.fullmatch(value)
        if match is None:
            raise DeploymentSyncError(f'invalid value for IntOrString: invalid value "{value}"')
        product = int(match.group(1)) * total
        return -(-product // 100) if round_up else product // 100
    raise DeploymentSyncError(f"invalid value for IntOrString: invalid type: {value!r}")


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, *, desired: int) -> tuple[int, int]:
    """``ResolveFenceposts``: (surge, unavailable), with the both-zero rule applied."""
    surge = scaled_value(max_surge, desired, round_up=True)
    unavailable = scaled_value(max_unavailable, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling_params(d: Obj) -> tuple[Any, Any]:
    strategy = spec(d).get("strategy")
    rolling = strategy.get("rollingUpdate") if isinstance(strategy, dict) else None
    if not isinstance(rolling, dict):
        return None, None
    return rolling.get("maxSurge"), rolling.get("maxUnavailable")


def max_surge(d: Obj) -> int:
    """``MaxSurge``: the resolved surge, 0 when the strategy is not RollingUpdate."""
    if not is_rolling_update(d):
        return 0
    surge, _ = resolve_fenceposts(*_rolling_params(d), desired=replicas(d))
    return surge


def max_unavailable(d: Obj) -> int:
    """``MaxUnavailable``: 0 for Recreate or 0 replicas, otherwise the resolved value capped at replicas."""
    desired = replicas(d)
    if not is_rolling_update(d) or desired == 0:
        return 0
    _, unavailable = resolve_fenceposts(*_rolling_params(d), desired=desired)
    return min(unavailable, desired)


def min_available(d: Obj) -> int:
    """``MinAvailable``: replicas - MaxUnavailable (0 when not rolling)."""
    if not is_rolling_update(d):
        return 0
    return replicas(d) - max_unavailable(d)


def total_replicas(rss: Iterable[Obj | None]) -> int:
    """``GetReplicaCountForReplicaSets``: Σ spec.replicas."""
    return sum(replicas(rs) for rs in rss if rs is not None)


def new_rs_new_replicas(d: Obj, all_rss: Iterable[Obj | None], *, new_rs: Obj) -> int:
    """``NewRSNewReplicas``: the size the new ReplicaSet may have now."""
    kind = strategy_type(d)
    if kind == "Recreate":
        return replicas(d)
    if kind != "RollingUpdate":
        raise DeploymentSyncError(f"deployment type {kind} isn't supported")
    surge = scaled_value(_rolling_params(d)[0], replicas(d), round_up=True)
    current = total_replicas(all_rss)
    max_total = replicas(d) + surge
    if current >= max_total:
        return replicas(new_rs)
    scale_up = min(max_total - current, replicas(d) - replicas(new_rs))
    return replicas(new_rs) + scale_up
