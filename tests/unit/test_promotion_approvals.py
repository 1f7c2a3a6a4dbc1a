"""ferry approve: a committed, auditable record per digest, and the approval gate reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.delivery.promotion import PromotionError, approve, promote, read_approvals
from tests.unit.configrepo_support import digest, git
from tests.unit.promotion_support import NOW, WHO, FakeObserver, commits, seed, setup


async def test_approve_then_promote_to_prod(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "qa", "order-service", 4)
    approval, sha = approve(
        platform, repo, "order-service", "prod", digest=digest(4), who="bob <bob@x.invalid>", now=NOW
    )
    assert sha == repo.head()
    assert commits(repo)[0] == "approve order-service 1.0.4-abcdef4 (sha256:000000000000…) for prod"
    assert (
        git(repo.path, "log", "-1", "--format=%an|%(trailers:key=Ferry-Digest,valueonly)")
        == f"bob|{digest(4)}"
    )
    text = git(repo.path, "show", "HEAD:envs/prod/order-service/approvals.yaml")
    assert f"digest: {digest(4)}" in text and "approvedBy: bob <bob@x.invalid>" in text
    assert read_approvals(repo, "prod", "order-service") == [approval]
    # Approving again changes nothing.
    assert approve(platform, repo, "order-service", "prod", digest=digest(4), who=WHO, now=NOW)[1] is None
    done = await promote(
        platform, repo, ["order-service"], target="prod", observer=FakeObserver(), who=WHO, now=NOW
    )
    assert done[0].gates[1].gate == "approval" and done[0].gates[1].passed
    assert "approved by bob" in done[0].gates[1].detail


async def test_an_approval_is_for_one_digest(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "qa", "order-service", 4)
    approve(platform, repo, "order-service", "prod", digest=digest(4), who=WHO, now=NOW)
    seed(repo, "qa", "order-service", 5)  # a newer digest reached qa: the old approval does not cover it
    with pytest.raises(PromotionError, match="gate approval: prod needs an approval"):
        await promote(
            platform, repo, ["order-service"], target="prod", observer=FakeObserver(), who=WHO, now=NOW
        )


@pytest.mark.parametrize(
    ("env", "n", "message"),
    [
        (
            "prod",
            9,
            r"qa runs sha256:0+…? ?.*for order-service, not .*: approve the digest that is ready to enter prod",
        ),
        ("qa", 4, r"qa does not ask for approvals \(its promotion.approval is false\)"),
        ("uat", 4, r"unknown environment 'uat'"),
    ],
)
def test_bad_approvals_are_refused(tmp_path: Path, env: str, n: int, message: str) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "qa", "order-service", 4)
    before = commits(repo)
    with pytest.raises(Exception, match=message):
        approve(platform, repo, "order-service", env, digest=digest(n), who=WHO, now=NOW)
    with pytest.raises(PromotionError, match=r"--digest sha256:12: must be sha256:<64 lowercase hex>"):
        approve(platform, repo, "order-service", "prod", digest="sha256:12", who=WHO, now=NOW)
    assert commits(repo) == before
