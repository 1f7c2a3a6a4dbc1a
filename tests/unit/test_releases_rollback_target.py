"""Which revision a rollback re-applies: ``--to N`` if it was ever deployed, else the last good one before now."""

from __future__ import annotations

import pytest

from ferry.delivery.releases import Release, ReleaseError, ReleaseState, rollback_target

S = ReleaseState


def history(*states: ReleaseState) -> list[tuple[Release, str]]:
    return [
        (Release("web", "sit", "ns", i + 1, state, f"1.0.{i}", "sha256:" + "a" * 64, "r/web"), str(i))
        for i, state in enumerate(states)
    ]


def test_default_is_the_newest_good_revision_before_the_deployed_one() -> None:
    releases = history(S.SUPERSEDED, S.SUPERSEDED, S.ROLLED_BACK, S.FAILED, S.DEPLOYED)
    assert rollback_target(releases).version == 2


def test_failed_and_rolled_back_revisions_are_skipped_by_default() -> None:
    releases = history(S.SUPERSEDED, S.ROLLED_BACK, S.DEPLOYED)
    assert rollback_target(releases).version == 1


def test_an_explicit_revision_that_was_deployed_is_chosen() -> None:
    releases = history(S.SUPERSEDED, S.SUPERSEDED, S.DEPLOYED)
    assert rollback_target(releases, to=1).version == 1


@pytest.mark.parametrize(
    ("to", "message"),
    [
        (9, "no revision 9 (revisions: 1, 2, 3)"),
        (2, "revision 2 is failed, never deployed: choose one of 1, 3"),
        (3, "revision 3 is the one deployed now: nothing to roll back"),
    ],
)
def test_an_explicit_revision_that_cannot_be_used_is_refused(to: int, message: str) -> None:
    with pytest.raises(ReleaseError) as err:
        rollback_target(history(S.SUPERSEDED, S.FAILED, S.DEPLOYED), to=to)
    assert str(err.value) == message


def test_nothing_to_roll_back_to() -> None:
    with pytest.raises(ReleaseError, match="no earlier deployed revision"):
        rollback_target(history(S.FAILED, S.DEPLOYED))
