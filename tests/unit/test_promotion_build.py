"""A build record from ferry ci enters the first environment; anything else about it is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ferry.delivery.promotion import GateRefused, PromotionError, promote
from tests.unit.configrepo_support import digest, git
from tests.unit.promotion_support import NOW, WHO, FakeObserver, commits, setup


def record(tmp: Path, service: str = "order-service", **changes: Any) -> Path:
    body = {
        "service": service,
        "version": "1.4.2",
        "tag": "1.4.2-a8f3d21",
        "image": f"127.0.0.1:5000/{service}:1.4.2-a8f3d21",
        "digest": digest(42),
        "gitSha": "a8f3d21" + "0" * 33,
        "status": "ok",
    } | changes
    path = tmp / ".ferry" / "ci" / "a8f3d21" / f"{service}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: v for k, v in body.items() if v is not None}))
    return path


async def test_a_build_record_becomes_sits_pin(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    observer = FakeObserver()
    done = await promote(
        platform,
        repo,
        ["order-service"],
        target="sit",
        build=record(tmp_path),
        observer=observer,
        who=WHO,
        now=NOW,
    )
    pin = repo.read_pin("sit", "order-service")
    assert pin is not None
    assert (pin.repository, pin.tag, pin.digest) == (
        "127.0.0.1:5000/order-service",
        "1.4.2-a8f3d21",
        digest(42),
    )
    assert (pin.git_sha, pin.promoted_from, pin.promoted_by) == ("a8f3d21" + "0" * 33, "build", WHO)
    assert (
        commits(repo)[0] == "promote order-service 1.4.2-a8f3d21 (sha256:000000000000…) build a8f3d21 → sit"
    )
    assert "Build record: " in git(repo.path, "log", "-1", "--format=%b")
    assert observer.calls == []  # no source environment to observe
    assert [g.gate for g in done[0].gates] == ["rejected"]


async def test_a_directory_of_records_is_a_release_set(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    record(tmp_path, "payment-service", digest=digest(7), image=None)
    directory = record(tmp_path).parent
    done = await promote(
        platform,
        repo,
        ["order-service", "payment-service"],
        target="sit",
        build=directory,
        observer=FakeObserver(),
        who=WHO,
        now=NOW,
    )
    assert [(p.service, p.pin.digest) for p in done] == [
        ("payment-service", digest(7)),
        ("order-service", digest(42)),
    ]


async def test_a_rejected_build_is_refused_in_sit_too(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    path = record(tmp_path)
    await promote(
        platform, repo, ["order-service"], target="sit", build=path, observer=FakeObserver(), who=WHO, now=NOW
    )
    current = repo.read_pin("sit", "order-service")
    assert current is not None
    repo.write_pin("sit", "order-service", current.reject(digest(43)), "reject", WHO)
    with pytest.raises(GateRefused, match="gate rejected"):
        await promote(
            platform,
            repo,
            ["order-service"],
            target="sit",
            build=record(tmp_path, digest=digest(43)),
            observer=FakeObserver(),
            who=WHO,
            now=NOW,
        )


@pytest.mark.parametrize(
    ("changes", "target", "message"),
    [
        (
            {"status": "failed", "failedStep": "test", "digest": None},
            "sit",
            r"order-service's build failed at test",
        ),
        (
            {"service": "payment-service"},
            "sit",
            r"is the build record of 'payment-service', not 'order-service'",
        ),
        ({"digest": "sha256:abc"}, "sit", r"digest: must be sha256:<64 lowercase hex>"),
        ({"tag": "latest"}, "sit", r"tag: 'latest' is not an immutable image tag"),
        ({"image": "docker.io/evil/order-service:1"}, "sit", r"is not order-service's repository"),
        ({}, "qa", r"a build record enters sit only; promote to qa from the environment before it"),
    ],
)
async def test_bad_records_are_refused(
    tmp_path: Path,
    changes: dict,  # type: ignore[type-arg]
    target: str,
    message: str,
) -> None:
    platform, repo = setup(tmp_path)
    path = record(tmp_path, **changes)
    with pytest.raises(PromotionError, match=message) as err:
        await promote(
            platform,
            repo,
            ["order-service"],
            target=target,
            build=path,
            observer=FakeObserver(),
            who=WHO,
            now=NOW,
        )
    assert "\n" not in str(err.value)
    assert commits(repo) == ["seed"]


async def test_a_missing_record_names_the_file(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    directory = record(tmp_path).parent
    with pytest.raises(PromotionError, match=r"payment-service.json: no build record for payment-service"):
        await promote(
            platform,
            repo,
            ["payment-service"],
            target="sit",
            build=directory,
            observer=FakeObserver(),
            who=WHO,
            now=NOW,
        )
