"""Registry settings and the per-repository tag policy (immutable tags, `latest` refused).

Immutability is what makes a rollback predictable: `order-service:1.4.2-abc1234` must name the same bytes
forever. The registry, not the CI, enforces it, so no client can move a tag by mistake. Both rules are
per repository, like ECR's and Harbor's immutable-tag settings: `policies` maps repository names or glob
patterns (`fnmatch`: `shop/*`) to a `RepositoryPolicy`; an exact name wins over a pattern, a longer pattern
over a shorter one, and `default_policy` applies when nothing matches.

`check_tag_push` is the whole decision for a manifest push by tag, as a pure function of (policy, tag,
current digest, new digest), so it is unit-tested without a server. A push that moves nothing (the tag
already points at the pushed digest) is always allowed and changes nothing.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RegistrySettings", "RepositoryPolicy", "check_tag_delete", "check_tag_push", "policy_for"]


@dataclass(frozen=True)
class RepositoryPolicy:
    """What a repository allows for tags."""

    immutable_tags: bool = True  # a push moving an existing tag to another digest is refused
    allow_latest: bool = False  # pushing the tag `latest` is refused


@dataclass(frozen=True)
class RegistrySettings:
    """How to run the embedded registry. `port` 0 picks a free port; `users` None turns auth off.

    `users` maps a user name to a password, or to a hash in one of the forms `passwords` documents
    (`{SHA}...`, `pbkdf2_sha256$...`).
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 5000
    users: dict[str, str] | None = None
    default_policy: RepositoryPolicy = RepositoryPolicy()
    policies: dict[str, RepositoryPolicy] = field(default_factory=dict)
    token_ttl_seconds: int = 300
    max_manifest_bytes: int = 4 << 20


def policy_for(settings: RegistrySettings, repository: str) -> RepositoryPolicy:
    """The policy of `repository`: exact entry, else the longest matching glob, else the default."""
    exact = settings.policies.get(repository)
    if exact is not None:
        return exact
    matches = [p for p in settings.policies if fnmatch.fnmatchcase(repository, p)]
    if not matches:
        return settings.default_policy
    return settings.policies[max(matches, key=len)]


def check_tag_push(
    policy: RepositoryPolicy, repository: str, tag: str, current: str | None, new: str
) -> str | None:
    """None if pushing `new` as `tag` is allowed; else the message saying why not (one line)."""
    if current == new:
        return None
    if tag == "latest" and not policy.allow_latest:
        return 'tag "latest" is refused by this registry: tags must be immutable (use <version>-<sha7>)'
    if current is not None and policy.immutable_tags:
        return (
            f"tag {repository}:{tag} is immutable: it points to {current} and cannot be moved to {new}; "
            "push a new tag"
        )
    return None


def check_tag_delete(policy: RepositoryPolicy, repository: str, tags: list[str]) -> str | None:
    """None if these tags may be deleted; else why not. Deleting then re-pushing would move an immutable tag."""
    if not tags or not policy.immutable_tags:
        return None
    shown = ", ".join(f"{repository}:{t}" for t in sorted(tags)[:3])
    return f"tag {shown} is immutable and cannot be deleted (the repository's policy has immutable tags)"
