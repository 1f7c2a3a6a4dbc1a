"""Approvals: who allowed which digest into an environment that asks for one (``promotion.approval: true``).

An approval is a record in the config repo, committed, so that "who let this into prod" is answered by
``git log`` like every other change to an environment:

    envs/prod/order-service/approvals.yaml
    # ferry: approvals for promoting into envs/prod/order-service. Written by ferry approve.
    approvals:
    - digest: sha256:ab12...
      tag: 1.4.2-a8f3d21
      approvedBy: alice <alice@example.com>
      approvedAt: '2026-11-27T05:40:00Z'

An approval is for one digest (never a tag: a tag can be re-pointed) and stays valid until it is used:
``ferry promote`` into the environment checks for it, and ``ferry reject`` does not remove it (a rejected
digest is stopped by the pin's ``rejected`` list instead, which ``--force`` alone overrides). The file keeps
the newest ``KEEP`` approvals; older ones remain in git history.

The write is the config repo's own discipline (see ``ferry.delivery.configrepo``): committed on top of what
was read, pushed with fetch/rebase/retry, under the clone's ``ferry.lock``; an approval that is already there
makes no commit. ``ConfigRepo`` has no public "write this file" call, so this module commits through its
``git`` with the same steps as ``write_pin`` (see the report of issue 6: a ``ConfigRepo.write_file`` would
remove the duplication).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import yaml

from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.pins import DIGEST, short_digest
from ferry.delivery.platform import Platform
from ferry.delivery.promotion.errors import PromotionError
from ferry.delivery.repoerrors import ConfigRepoError

__all__ = ["APPROVALS_FILE", "Approval", "approve", "find_approval", "read_approvals", "write_approval"]

APPROVALS_FILE = "approvals.yaml"
KEEP = 20


@dataclass(frozen=True)
class Approval:
    digest: str
    approved_by: str
    approved_at: str  # RFC 3339
    tag: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"digest": self.digest}
        if self.tag:
            out["tag"] = self.tag
        return out | {"approvedBy": self.approved_by, "approvedAt": self.approved_at}


def approvals_path(repo: ConfigRepo, env: str, service: str) -> str:
    return f"{repo.env_dir(env)}/{service}/{APPROVALS_FILE}"


def read_approvals(repo: ConfigRepo, env: str, service: str, *, revision: str = "HEAD") -> list[Approval]:
    """The approvals recorded for the service in ``env``, newest first; an unreadable file is an error."""
    path = approvals_path(repo, env, service)
    text = repo.git.show(revision, path) if repo.head() is not None else None
    if text is None:
        return []
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigRepoError(f"{path}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    items = data.get("approvals") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigRepoError(f"{path}: approvals: must be a list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not DIGEST.fullmatch(str(item.get("digest", ""))):
            raise ConfigRepoError(f"{path}: approvals[{i}].digest: must be sha256:<64 lowercase hex>")
        out.append(
            Approval(
                digest=str(item["digest"]),
                approved_by=str(item.get("approvedBy") or "?"),
                approved_at=str(item.get("approvedAt") or ""),
                tag=str(item["tag"]) if item.get("tag") else None,
            )
        )
    return out


def find_approval(repo: ConfigRepo, env: str, service: str, digest: str) -> Approval | None:
    return next((a for a in read_approvals(repo, env, service) if a.digest == digest), None)


def approve(
    platform: Platform, repo: ConfigRepo, service: str, env: str, *, digest: str, who: str, now: datetime
) -> tuple[Approval, str | None]:
    """Record ``who``'s approval of ``digest`` for entering ``env``; (the approval, its commit or None).

    Refused, with nothing written, unless ``env`` asks for approvals and ``digest`` is what the environment
    before it runs now: an approval is a decision about a build someone has seen working.
    """
    environment = platform.environment(env)
    svc = platform.service(service)
    if not DIGEST.fullmatch(digest):
        raise PromotionError(f"--digest {digest}: must be sha256:<64 lowercase hex>")
    if not environment.promotion.approval:
        raise PromotionError(
            f"{environment.name} does not ask for approvals (its promotion.approval is false)"
        )
    tag = None
    previous = platform.previous_environment(environment.name)
    if previous is not None:
        source = repo.read_pin(previous.name, svc.name)
        if source is None or source.digest != digest:
            running = short_digest(source.digest) if source else "nothing"
            raise PromotionError(
                f"{previous.name} runs {running} for {svc.name}, not {short_digest(digest)}: "
                f"approve the digest that is ready to enter {environment.name}"
            )
        tag = source.tag
    approval = Approval(digest, who, now.strftime("%Y-%m-%dT%H:%M:%SZ"), tag)
    return approval, write_approval(repo, environment.name, svc.name, approval)


def write_approval(repo: ConfigRepo, env: str, service: str, approval: Approval) -> str | None:
    """Commit (and push) ``approval``; the commit's SHA, or None when that digest was approved already."""
    path = approvals_path(repo, env, service)

    def new_text() -> str | None:  # under the repo's lock: read, then decide
        existing = read_approvals(repo, env, service)
        if any(a.digest == approval.digest for a in existing):
            return None
        where = f"{repo.env_dir(env)}/{service}"
        body = {"approvals": [a.to_dict() for a in [approval, *existing][:KEEP]]}
        header = f"# ferry: approvals for promoting into {where}. Written by ferry approve.\n"
        return header + yaml.safe_dump(body, sort_keys=False, default_flow_style=False, width=1000)

    subject = f"approve {service} {approval.tag or ''} ({short_digest(approval.digest)}) for {env}"
    trailers = f"Ferry-Environment: {env}\nFerry-Service: {service}\nFerry-Digest: {approval.digest}"
    return repo.commit_file(
        path, new_text, subject=" ".join(subject.split()), trailers=trailers, author=approval.approved_by
    )
