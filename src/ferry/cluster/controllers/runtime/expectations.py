"""Expectations: "wait for your own writes before trusting the cache" (k8s-semantics §3,
``pkg/controller/controller_utils.go``).

A ReplicaSet controller that creates 5 pods would, on its next sync, still see the old pod count in
its informer cache (the watch events of its creates have not arrived yet) and create 5 more. So before
writing it records what it expects to *observe*: ``expect_creations(rs_key, 5)``; the pod-add handler
calls ``creation_observed(rs_key)`` for each pod that shows up; ``satisfied(rs_key)`` gates the next
``manageReplicas``. A create that fails (so will never be observed) is taken back with
``creation_observed`` / ``lower_expectations``.

Rules, as kube's ``ControllerExpectations``:

* ``expect_*`` **replace** the record (counters and timestamp); ``raise_``/``lower_expectations`` adjust
  an existing record and leave its timestamp; observing on a key without a record does nothing.
* ``satisfied(key)`` is True when there is no record, when both counters are ≤ 0, or when the record is
  older than **5 minutes** (a lost watch event must not wedge a controller forever); otherwise False.

:class:`UIDTrackingExpectations` adds what deletions need: pods already being deleted may be deleted
again or vanish for other reasons, so deletions are tracked **per pod key** (``namespace/name``) and only
the deletion of a pod that was asked for lowers the counter, once.

Plain in-memory state for one event loop; no locks are needed because nothing awaits inside.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from ferry.cluster.controllers.runtime.types import Clock, SystemClock

log = logging.getLogger("ferry.controllers.expectations")

EXPECTATIONS_TIMEOUT_SECONDS = 5 * 60.0


@dataclass
class ExpectationRecord:
    key: str
    add: int
    delete: int
    timestamp: dt.datetime

    def fulfilled(self) -> bool:
        return self.add <= 0 and self.delete <= 0


class ControllerExpectations:
    """Per controller-key counters of creations and deletions still to be observed."""

    def __init__(self, clock: Clock | None = None, *, timeout_seconds: float = EXPECTATIONS_TIMEOUT_SECONDS):
        self.clock: Clock = clock or SystemClock()
        self.timeout = dt.timedelta(seconds=timeout_seconds)
        self._records: dict[str, ExpectationRecord] = {}

    def get(self, key: str) -> ExpectationRecord | None:
        return self._records.get(key)

    def satisfied(self, key: str) -> bool:
        record = self._records.get(key)
        if record is None or record.fulfilled():
            return True
        if self.clock.now() - record.timestamp > self.timeout:
            log.info("expectations of %s expired (add %d, del %d)", key, record.add, record.delete)
            return True
        return False

    def set_expectations(self, key: str, add: int, delete: int) -> None:
        self._records[key] = ExpectationRecord(key, add, delete, self.clock.now())

    def expect_creations(self, key: str, count: int) -> None:
        self.set_expectations(key, count, 0)

    def expect_deletions(self, key: str, count: int) -> None:
        self.set_expectations(key, 0, count)

    def raise_expectations(self, key: str, add: int, delete: int) -> None:
        record = self._records.get(key)
        if record is not None:
            record.add += add
            record.delete += delete

    def lower_expectations(self, key: str, add: int, delete: int) -> None:
        record = self._records.get(key)
        if record is not None:
            record.add -= add
            record.delete -= delete

    def creation_observed(self, key: str) -> None:
        self.lower_expectations(key, 1, 0)

    def deletion_observed(self, key: str) -> None:
        self.lower_expectations(key, 0, 1)

    def delete(self, key: str) -> None:
        """Forget a controller key (its object was deleted)."""
        self._records.pop(key, None)


@dataclass
class UIDTrackingExpectations:
    """:class:`ControllerExpectations` whose deletions are tracked per pod key."""

    clock: Clock | None = None
    timeout_seconds: float = EXPECTATIONS_TIMEOUT_SECONDS
    counters: ControllerExpectations = field(init=False)
    _deleting: dict[str, set[str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.counters = ControllerExpectations(self.clock, timeout_seconds=self.timeout_seconds)

    def get(self, key: str) -> ExpectationRecord | None:
        return self.counters.get(key)

    def satisfied(self, key: str) -> bool:
        return self.counters.satisfied(key)

    def expect_creations(self, key: str, count: int) -> None:
        self.counters.expect_creations(key, count)

    def creation_observed(self, key: str) -> None:
        self.counters.creation_observed(key)

    def raise_expectations(self, key: str, add: int, delete: int) -> None:
        self.counters.raise_expectations(key, add, delete)

    def lower_expectations(self, key: str, add: int, delete: int) -> None:
        self.counters.lower_expectations(key, add, delete)

    def expect_deletions(self, key: str, pod_keys: list[str] | set[str]) -> None:
        """Expect the deletion of exactly these pods (``namespace/name``), replacing earlier ones."""
        existing = self._deleting.get(key)
        if existing:
            log.warning("%s: clobbering existing delete keys %s", key, sorted(existing))
        keys = set(pod_keys)
        self._deleting[key] = keys
        self.counters.expect_deletions(key, len(keys))

    def deletion_observed(self, key: str, pod_key: str) -> None:
        """A pod went away (or started terminating); counts only if its deletion was expected."""
        keys = self._deleting.get(key)
        if keys is not None and pod_key in keys:
            keys.discard(pod_key)
            self.counters.deletion_observed(key)

    def get_uids(self, key: str) -> set[str]:
        """The pod keys whose deletion is still expected (a copy)."""
        return set(self._deleting.get(key, ()))

    def delete(self, key: str) -> None:
        self.counters.delete(key)
        self._deleting.pop(key, None)
