"""Release sets: several services in dependency order, every gate checked before the first commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.delivery.platform import PlatformError
from ferry.delivery.promotion import GateRefused, PromotionError, promote
from tests.unit.configrepo_support import digest
from tests.unit.promotion_support import NOW, WHO, FakeObserver, commits, seed, setup


async def test_dependencies_first_one_commit_each(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    for n, name in enumerate(("api-gateway", "order-service", "payment-service"), start=1):
        seed(repo, "sit", name, n)
    observer = FakeObserver()
    done = await promote(
        platform,
        repo,
        ["api-gateway", "payment-service", "order-service"],
        target="qa",
        source="sit",
        observer=observer,
        who=WHO,
        now=NOW,
    )
    # payment-service ← order-service ← api-gateway, whatever order they were named in.
    assert [p.service for p in done] == ["payment-service", "order-service", "api-gateway"]
    assert [c.split(" (")[0] for c in commits(repo)[:3]] == [
        "promote api-gateway 1.0.1-abcdef1",
        "promote order-service 1.0.2-abcdef2",
        "promote payment-service 1.0.3-abcdef3",
    ]  # newest first: payment-service was committed first
    assert [c[1] for c in observer.calls] == ["payment-service", "order-service", "api-gateway"]


async def test_one_refusal_commits_nothing_for_the_whole_set(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "sit", "payment-service", 1)
    seed(repo, "sit", "order-service", 2)
    before = commits(repo)
    # The *last* service in dependency order fails: the first must not have been committed already.
    observer = FakeObserver({("sit", "order-service"): {"health": "Degraded", "reason": "pods crash"}})
    with pytest.raises(GateRefused) as err:
        await promote(
            platform,
            repo,
            ["order-service", "payment-service"],
            target="qa",
            observer=observer,
            who=WHO,
            now=NOW,
        )
    assert str(err.value) == (
        "promote order-service sit → qa refused by gate health: sit is Degraded (pods crash); nothing was committed"
    )
    assert commits(repo) == before
    assert repo.read_pin("qa", "payment-service") is None


async def test_a_service_already_at_the_digest_is_a_noop(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "sit", "payment-service", 1)
    seed(repo, "qa", "payment-service", 1)
    seed(repo, "sit", "order-service", 2)
    before = commits(repo)
    observer = FakeObserver()
    done = await promote(
        platform, repo, ["order-service", "payment-service"], target="qa", observer=observer, who=WHO, now=NOW
    )
    assert [(p.service, p.noop) for p in done] == [("payment-service", True), ("order-service", False)]
    assert len(commits(repo)) == len(before) + 1
    assert ("sit", "payment-service", digest(1)) not in observer.calls  # no gates for a no-op


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "prod", "source": "sit"}, r"prod is entered from qa, not sit: .*\(sit → qa → prod\)"),
        ({"target": "sit"}, r"sit is the first environment: promote a build record into it \(--build\)"),
        ({"target": "staging"}, r"unknown environment 'staging' \(known: sit, qa, prod\)"),
        ({"target": "qa", "services": ["orders"]}, r"unknown service 'orders'"),
        (
            {"target": "qa", "services": ["api-gateway"]},
            r"api-gateway has no pin in sit: nothing to promote to qa",
        ),
        ({"target": "qa", "services": []}, r"name at least one service"),
    ],
)
async def test_bad_input_is_one_line_and_commits_nothing(
    tmp_path: Path,
    kwargs: dict,  # type: ignore[type-arg]
    message: str,
) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "sit", "order-service", 2)
    before = commits(repo)
    services = kwargs.pop("services", ["order-service"])
    with pytest.raises((PromotionError, PlatformError), match=message):
        await promote(platform, repo, services, observer=FakeObserver(), who=WHO, now=NOW, **kwargs)
    assert commits(repo) == before
