"""ferry reject: the previous good pin committed, the bad digest kept out unless --force."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.delivery.promotion import GateRefused, NoPreviousPin, PromotionError, promote, reject
from tests.unit.configrepo_support import digest, git
from tests.unit.promotion_support import NOW, WHO, FakeObserver, commits, seed, setup


async def test_reject_to_previous_restores_the_last_good_pin_and_blocks_the_digest(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    good = seed(repo, "qa", "order-service", 1)
    seed(repo, "qa", "order-service", 2)
    done = reject(platform, repo, "order-service", "qa", who=WHO, now=NOW, to_previous=True)
    pin = repo.read_pin("qa", "order-service")
    assert pin is not None
    assert (pin.digest, pin.tag, pin.rejected) == (good.digest, good.tag, (digest(2),))
    assert (pin.promoted_by, pin.promoted_at) == (WHO, "2026-11-27T06:00:00Z")
    assert done.restored is not None and done.restored.digest == digest(1)
    assert commits(repo)[0] == (
        "reject order-service 1.0.2-abcdef2 (sha256:000000000000…) in qa: back to 1.0.1-abcdef1 (sha256:000000000000…)"
    )
    assert git(repo.path, "log", "-1", "--format=%an") == "alice"

    # sit still runs the bad digest: promoting it to qa again is refused by the rejected gate ...
    seed(repo, "sit", "order-service", 2)
    with pytest.raises(GateRefused, match=r"refused by gate rejected: sha256:0+…? ?.*was rejected in qa"):
        await promote(
            platform, repo, ["order-service"], target="qa", observer=FakeObserver(), who=WHO, now=NOW
        )
    assert repo.read_pin("qa", "order-service").digest == digest(1)  # type: ignore[union-attr]
    # ... unless forced; the forced digest then leaves the rejected list.
    await promote(
        platform, repo, ["order-service"], target="qa", observer=FakeObserver(), who=WHO, now=NOW, force=True
    )
    forced = repo.read_pin("qa", "order-service")
    assert forced is not None and forced.digest == digest(2) and forced.rejected == ()


async def test_the_rejected_list_survives_later_promotions(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "qa", "order-service", 1)
    seed(repo, "qa", "order-service", 2)
    reject(platform, repo, "order-service", "qa", who=WHO, now=NOW, to_previous=True)
    seed(repo, "sit", "order-service", 3)
    await promote(platform, repo, ["order-service"], target="qa", observer=FakeObserver(), who=WHO, now=NOW)
    pin = repo.read_pin("qa", "order-service")
    assert pin is not None and pin.digest == digest(3) and pin.rejected == (digest(2),)


def test_previous_skips_rejected_digests_and_duplicates(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "qa", "order-service", 1)
    seed(repo, "qa", "order-service", 2)
    seed(repo, "qa", "order-service", 3)
    reject(platform, repo, "order-service", "qa", who=WHO, now=NOW, to_previous=True)  # 3 → 2
    reject(platform, repo, "order-service", "qa", who=WHO, now=NOW, to_previous=True)  # 2 → 1, not back to 3
    pin = repo.read_pin("qa", "order-service")
    assert pin is not None and pin.digest == digest(1) and pin.rejected == (digest(3), digest(2))
    with pytest.raises(NoPreviousPin, match=r"no earlier pin of order-service in qa to roll back to"):
        reject(platform, repo, "order-service", "qa", who=WHO, now=NOW, to_previous=True)
    assert repo.read_pin("qa", "order-service") == pin


def test_reject_without_rollback_blocks_a_digest_not_running(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "prod", "order-service", 1)
    done = reject(platform, repo, "order-service", "prod", who=WHO, now=NOW, digest=digest(9))
    assert done.restored is None
    pin = repo.read_pin("prod", "order-service")
    assert pin is not None and pin.digest == digest(1) and pin.rejected == (digest(9),)
    before = commits(repo)
    with pytest.raises(PromotionError, match=r"prod runs sha256:0+…? ?.*add --to-previous"):
        reject(platform, repo, "order-service", "prod", who=WHO, now=NOW)
    with pytest.raises(PromotionError, match=r"order-service has no pin in qa: nothing to reject"):
        reject(platform, repo, "order-service", "qa", who=WHO, now=NOW, to_previous=True)
    with pytest.raises(PromotionError, match=r"--to-previous rolls back what the environment runs"):
        reject(platform, repo, "order-service", "prod", who=WHO, now=NOW, digest=digest(7), to_previous=True)
    assert commits(repo) == before
