"""The tag policy as pure functions: which repository gets which policy, and which pushes are refused."""

from __future__ import annotations

from pathlib import Path

from ferry.registry.server.policy import (
    RegistrySettings,
    RepositoryPolicy,
    check_tag_delete,
    check_tag_push,
    policy_for,
)

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
STRICT = RepositoryPolicy()
MUTABLE = RepositoryPolicy(immutable_tags=False)
LATEST_OK = RepositoryPolicy(allow_latest=True)


def test_exact_name_beats_globs_and_longest_glob_wins() -> None:
    settings = RegistrySettings(
        data_dir=Path("/nonexistent"),
        policies={"shop/*": MUTABLE, "shop/legacy/*": LATEST_OK, "shop/api": STRICT},
    )
    assert policy_for(settings, "shop/api") is STRICT
    assert policy_for(settings, "shop/web") is MUTABLE
    assert policy_for(settings, "shop/legacy/old") is LATEST_OK
    assert policy_for(settings, "other") is settings.default_policy


def test_first_push_of_a_tag_is_allowed() -> None:
    assert check_tag_push(STRICT, "demo-api", "1.0.0", None, A) is None


def test_moving_an_immutable_tag_names_both_digests() -> None:
    message = check_tag_push(STRICT, "demo-api", "1.0.0", A, B)
    assert message == (
        f"tag demo-api:1.0.0 is immutable: it points to {A} and cannot be moved to {B}; push a new tag"
    )


def test_same_digest_again_is_allowed_even_for_latest() -> None:
    assert check_tag_push(STRICT, "demo-api", "1.0.0", A, A) is None
    assert check_tag_push(STRICT, "demo-api", "latest", A, A) is None


def test_latest_is_refused_unless_allowed() -> None:
    assert check_tag_push(STRICT, "demo-api", "latest", None, A) == (
        'tag "latest" is refused by this registry: tags must be immutable (use <version>-<sha7>)'
    )
    assert check_tag_push(MUTABLE, "demo-api", "latest", None, A) is not None
    assert check_tag_push(LATEST_OK, "demo-api", "latest", None, A) is None
    # allowed, but still immutable once pushed
    assert check_tag_push(LATEST_OK, "demo-api", "latest", A, B) is not None


def test_mutable_tags_may_move() -> None:
    assert check_tag_push(MUTABLE, "demo-api", "1.0.0", A, B) is None


def test_deleting_immutable_tags_is_refused() -> None:
    assert check_tag_delete(STRICT, "demo-api", []) is None
    message = check_tag_delete(STRICT, "demo-api", ["1.0.0"])
    assert message is not None and "demo-api:1.0.0" in message
    assert check_tag_delete(MUTABLE, "demo-api", ["1.0.0"]) is None
