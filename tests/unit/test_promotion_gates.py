"""Each promotion gate refuses on its own, in one line naming it, and nothing is committed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ferry.delivery.promotion import GateRefused, promote
from tests.unit.configrepo_support import digest, git
from tests.unit.promotion_support import NOW, WHO, FakeObserver, VerifyRecorder, commits, seed, setup


async def _promote_to_qa(tmp: Path, observer: FakeObserver, verify: VerifyRecorder, *, qa: str) -> list[str]:
    platform, repo = setup(tmp, qa=qa)
    seed(repo, "sit", "order-service", 2)
    before = commits(repo)
    try:
        await promote(
            platform,
            repo,
            ["order-service"],
            target="qa",
            observer=observer,
            who=WHO,
            now=NOW,
            verify=verify,
        )
    except GateRefused:
        assert commits(repo) == before, "a refused promotion must commit nothing"
        assert repo.read_pin("qa", "order-service") is None
        raise
    after = commits(repo)
    return after[: len(after) - len(before)]


async def test_all_gates_pass_and_the_commit_says_why(tmp_path: Path) -> None:
    verify = VerifyRecorder()
    platform, repo = setup(tmp_path, qa='{soakSeconds: 300, verify: "make smoke", verifyTimeoutSeconds: 7}')
    seed(repo, "sit", "order-service", 2)  # promotedAt 05:00, NOW is 06:00: an hour of soak
    done = await promote(
        platform,
        repo,
        ["order-service"],
        target="qa",
        observer=FakeObserver(),
        who=WHO,
        now=NOW,
        verify=verify,
    )
    assert [g.gate for g in done[0].gates] == ["rejected", "health", "sync", "soak", "verify"]
    pin = repo.read_pin("qa", "order-service")
    assert pin is not None and pin.digest == digest(2)
    assert (pin.promoted_from, pin.promoted_by, pin.promoted_at) == ("sit", WHO, "2026-11-27T06:00:00Z")
    command, extra, timeout, cwd = verify.calls[0]
    assert (command, timeout, cwd) == ("make smoke", 7.0, platform.root)
    assert extra["FERRY_ENV"] == "sit" and extra["FERRY_SERVICE"] == "order-service"
    assert extra["FERRY_NAMESPACE"] == "shop-sit" and extra["FERRY_DIGEST"] == digest(2)
    assert "FERRY_KUBECONFIG" in extra
    message = git(repo.path, "log", "-1", "--format=%B")
    assert message.startswith("promote order-service 1.0.2-abcdef2 (sha256:000000000000…) sit → qa")
    assert "Gate health: sit is Healthy" in message and "Promoted by alice" in message
    assert git(repo.path, "log", "-1", "--format=%an <%ae>") == WHO


@pytest.mark.parametrize(
    ("state", "gate", "detail"),
    [
        (
            {"health": "Degraded", "reason": "Deployment shop-sit/order-service: ProgressDeadlineExceeded"},
            "health",
            "sit is Degraded (Deployment shop-sit/order-service: ProgressDeadlineExceeded)",
        ),
        ({"health": "Progressing"}, "health", "sit is Progressing"),
        ({"health": "Unknown", "reason": "cannot reach the cluster at https://x"}, "health", "cannot reach"),
        (
            {"sync": "OutOfSync", "sync_reason": "Deployment shop-sit/order-service would be changed"},
            "sync",
            "sit is OutOfSync (Deployment shop-sit/order-service would be changed)",
        ),
        ({"digests": (digest(1),)}, "sync", "sit runs sha256:000000000000…, not"),
        ({"digests": ()}, "sync", "sit runs nothing"),
    ],
)
async def test_health_and_sync_of_the_source_environment(
    tmp_path: Path,
    state: dict[str, object],
    gate: str,
    detail: str,
) -> None:
    observer = FakeObserver({("sit", "order-service"): state})
    verify = VerifyRecorder()
    with pytest.raises(GateRefused) as err:
        await _promote_to_qa(tmp_path, observer, verify, qa='{verify: "make smoke"}')
    assert err.value.gate == gate
    assert f"refused by gate {gate}: " in str(err.value) and detail in str(err.value)
    assert "\n" not in str(err.value)
    assert verify.calls == []  # verify never runs after an earlier gate failed


async def test_soak_counts_from_promoted_at_or_the_reconcilers_healthy_since(tmp_path: Path) -> None:
    # promotedAt 05:00 and NOW 06:00: 3600 s, short of 7200.
    with pytest.raises(GateRefused, match=r"gate soak: sit has been at sha256:0+2?.*for 3600s of 7200s"):
        await _promote_to_qa(tmp_path / "a", FakeObserver(), VerifyRecorder(), qa="{soakSeconds: 7200}")
    # Long enough by promotedAt, but the reconciler saw it become healthy 10 minutes ago: that counts.
    recent = {("sit", "order-service"): {"healthy_since": NOW - timedelta(minutes=10)}}
    with pytest.raises(GateRefused, match=r"gate soak: .* for 600s of 1800s"):
        await _promote_to_qa(tmp_path / "b", FakeObserver(recent), VerifyRecorder(), qa="{soakSeconds: 1800}")
    assert await _promote_to_qa(
        tmp_path / "c", FakeObserver(), VerifyRecorder(), qa="{soakSeconds: 1800}"
    ) == ["promote order-service 1.0.2-abcdef2 (sha256:000000000000…) sit → qa"]


async def test_verify_failure_names_the_command_and_its_last_line(tmp_path: Path) -> None:
    verify = VerifyRecorder((False, "exit status 3: smoke: GET /health 503"))
    with pytest.raises(GateRefused) as err:
        await _promote_to_qa(tmp_path, FakeObserver(), verify, qa='{verify: "make smoke"}')
    assert err.value.gate == "verify"
    assert str(err.value).endswith("`make smoke` against sit: exit status 3: smoke: GET /health 503")


async def test_approval_is_required_where_configured(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "qa", "order-service", 4)
    with pytest.raises(GateRefused) as err:
        await promote(
            platform, repo, ["order-service"], target="prod", observer=FakeObserver(), who=WHO, now=NOW
        )
    assert err.value.gate == "approval"
    assert f"ferry approve order-service --env prod --digest {digest(4)}" in str(err.value)
    assert repo.read_pin("prod", "order-service") is None
    done = await promote(
        platform,
        repo,
        ["order-service"],
        target="prod",
        observer=FakeObserver(),
        who=WHO,
        now=NOW,
        skip_approval=True,
    )
    assert done[0].gates[1].detail == "skipped (--skip-approval)"
    assert repo.read_pin("prod", "order-service").digest == digest(4)  # type: ignore[union-attr]
