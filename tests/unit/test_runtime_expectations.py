"""Expectations (k8s-semantics §3): counters with a 5-minute expiry; deletions tracked per pod key."""

from __future__ import annotations

from ferry.cluster.controllers.runtime.expectations import ControllerExpectations, UIDTrackingExpectations
from ferry.cluster.controllers.runtime.fakes import FakeClock

RS = "default/web-7d4b9c"


def test_no_record_is_satisfied() -> None:
    assert ControllerExpectations(FakeClock()).satisfied(RS)


def test_creations_are_satisfied_once_all_are_observed() -> None:
    exp = ControllerExpectations(FakeClock())
    exp.expect_creations(RS, 3)
    assert not exp.satisfied(RS)
    exp.creation_observed(RS)
    exp.creation_observed(RS)
    assert not exp.satisfied(RS)
    exp.creation_observed(RS)
    assert exp.satisfied(RS)
    exp.creation_observed(RS)  # an extra observation goes negative and stays satisfied
    record = exp.get(RS)
    assert record is not None and (record.add, record.delete) == (-1, 0)
    assert exp.satisfied(RS)


def test_deletions_count_the_same_way() -> None:
    exp = ControllerExpectations(FakeClock())
    exp.expect_deletions(RS, 2)
    exp.deletion_observed(RS)
    assert not exp.satisfied(RS)
    exp.deletion_observed(RS)
    assert exp.satisfied(RS)


def test_expect_replaces_the_record_and_its_timestamp() -> None:
    clock = FakeClock()
    exp = ControllerExpectations(clock)
    exp.expect_creations(RS, 5)
    clock.advance(60)
    exp.expect_deletions(RS, 1)
    record = exp.get(RS)
    assert record is not None
    assert (record.add, record.delete, record.timestamp) == (0, 1, clock.now())


def test_lowering_for_pods_never_attempted() -> None:
    exp = ControllerExpectations(FakeClock())
    exp.expect_creations(RS, 8)
    exp.lower_expectations(RS, 5, 0)  # slow start stopped after the first batches
    for _ in range(3):
        exp.creation_observed(RS)
    assert exp.satisfied(RS)
    exp.raise_expectations(RS, 2, 0)
    assert not exp.satisfied(RS)


def test_observing_or_adjusting_without_a_record_creates_none() -> None:
    exp = ControllerExpectations(FakeClock())
    exp.creation_observed(RS)
    exp.lower_expectations(RS, 1, 1)
    exp.raise_expectations(RS, 1, 1)
    assert exp.get(RS) is None
    assert exp.satisfied(RS)


def test_unfulfilled_expectations_expire_after_five_minutes() -> None:
    clock = FakeClock()
    exp = ControllerExpectations(clock)
    exp.expect_creations(RS, 2)
    clock.advance(300)
    assert not exp.satisfied(RS)  # exactly 5 minutes is not yet expired
    clock.advance(0.001)
    assert exp.satisfied(RS)
    exp.creation_observed(RS)  # lowering does not refresh the timestamp
    assert exp.satisfied(RS)


def test_delete_forgets_the_key() -> None:
    exp = ControllerExpectations(FakeClock())
    exp.expect_creations(RS, 1)
    exp.delete(RS)
    assert exp.get(RS) is None
    assert exp.satisfied(RS)


def test_uid_tracking_counts_only_expected_pods_once() -> None:
    exp = UIDTrackingExpectations(FakeClock())
    exp.expect_deletions(RS, ["default/web-a", "default/web-b"])
    assert not exp.satisfied(RS)
    exp.deletion_observed(RS, "default/web-z")  # someone else's delete
    exp.deletion_observed(RS, "default/web-a")
    exp.deletion_observed(RS, "default/web-a")  # seen again (terminating, then gone)
    record = exp.get(RS)
    assert record is not None and record.delete == 1
    assert not exp.satisfied(RS)
    assert exp.get_uids(RS) == {"default/web-b"}
    exp.deletion_observed(RS, "default/web-b")
    assert exp.satisfied(RS)
    assert exp.get_uids(RS) == set()


def test_uid_tracking_dedupes_keys_and_replaces_earlier_ones() -> None:
    exp = UIDTrackingExpectations(FakeClock())
    exp.expect_deletions(RS, ["default/a", "default/a", "default/b"])
    record = exp.get(RS)
    assert record is not None and record.delete == 2
    exp.expect_deletions(RS, ["default/c"])  # clobbers (kube logs it)
    assert exp.get_uids(RS) == {"default/c"}
    exp.deletion_observed(RS, "default/a")
    assert not exp.satisfied(RS)
    exp.deletion_observed(RS, "default/c")
    assert exp.satisfied(RS)


def test_uid_tracking_creations_and_expiry_and_delete() -> None:
    clock = FakeClock()
    exp = UIDTrackingExpectations(clock)
    exp.expect_creations(RS, 1)
    assert not exp.satisfied(RS)
    exp.creation_observed(RS)
    assert exp.satisfied(RS)
    exp.expect_deletions(RS, ["default/a"])
    clock.advance(301)
    assert exp.satisfied(RS)
    exp.delete(RS)
    assert exp.get(RS) is None and exp.get_uids(RS) == set()
