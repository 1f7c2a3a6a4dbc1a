"""``ferry reject``: take a bad digest out of an environment *through git*, and keep it out.

``ferry reject order-service --env prod --to-previous`` commits the previous good pin of order-service in
prod, with the bad digest added to the pin's ``rejected`` list. Nothing is changed on the cluster by hand:
the reconciler applies the commit like any other, so there is no manual change for it to fight, and
``git log envs/prod/order-service`` tells the whole story. The rejected list travels with every later pin of
that environment (``promote`` carries it over), so the digest cannot come back without ``--force``.

Without ``--to-previous`` only the rejected list changes (for a digest the environment does not run: block it
before it arrives); rejecting the digest the environment runs without rolling back is refused, because a pin
whose own digest is rejected would say two contradicting things.

**The previous good pin** is the newest earlier pin in ``ConfigRepo.history`` (commits that touched the
service's directory, newest first, each pin read at its commit) whose digest is neither the bad one nor in
the rejected list. "Good" therefore means "was promoted there and not rejected since": ferry keeps no health
history of its own outside the reconciler; a pin that was bad but never rejected is rejected in turn by
running the command again. Its tag, digest and build provenance are restored; ``promotedAt``/``promotedBy``
say when and by whom the rollback happened (the next promotion's soak counts from then).

``ferry rollback <service> --env E --gitops`` routes here once the push-mode and GitOps CLIs are merged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.pins import DIGEST, Pin, short_digest
from ferry.delivery.platform import Platform
from ferry.delivery.promotion.errors import NoPreviousPin, PromotionError

__all__ = ["Rejection", "previous_good_pin", "reject"]


@dataclass(frozen=True)
class Rejection:
    service: str
    env: str
    digest: str  # the rejected one
    pin: Pin  # the pin committed
    restored: Pin | None  # the previous good pin, with --to-previous
    commit: str | None


def previous_good_pin(repo: ConfigRepo, env: str, service: str, *, bad: set[str]) -> Pin | None:
    """The newest pin in the history whose digest is not in ``bad`` (see the module docstring)."""
    seen: set[str] = set()
    for entry in repo.history(env, service):
        pin = repo.read_pin(env, service, revision=entry.sha)
        if pin is None or pin.digest in seen:
            continue
        seen.add(pin.digest)
        if pin.digest not in bad:
            return pin
    return None


def reject(
    platform: Platform,
    repo: ConfigRepo,
    service: str,
    env: str,
    *,
    who: str,
    now: datetime,
    digest: str | None = None,
    to_previous: bool = False,
) -> Rejection:
    environment = platform.environment(env)
    svc = platform.service(service)
    current = repo.read_pin(environment.name, svc.name)
    if current is None:
        raise PromotionError(f"{svc.name} has no pin in {environment.name}: nothing to reject")
    bad = digest or current.digest
    if not DIGEST.fullmatch(bad):
        raise PromotionError(f"--digest {bad}: must be sha256:<64 lowercase hex>")
    runs_it = bad == current.digest
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if to_previous:
        if not runs_it:
            raise PromotionError(
                f"{environment.name} runs {short_digest(current.digest)}, not {short_digest(bad)}: "
                "--to-previous rolls back what the environment runs"
            )
        rejected = (*current.rejected, bad) if bad not in current.rejected else current.rejected
        restored = previous_good_pin(repo, environment.name, svc.name, bad=set(rejected))
        if restored is None:
            raise NoPreviousPin(
                f"no earlier pin of {svc.name} in {environment.name} to roll back to "
                f"(every pin in its history is {short_digest(bad)} or rejected); nothing was committed"
            )
        new = replace(restored, promoted_at=stamp, promoted_by=who, rejected=rejected)
        subject = (
            f"reject {svc.name} {current.tag} ({short_digest(bad)}) in {environment.name}: "
            f"back to {restored.tag} ({short_digest(restored.digest)})"
        )
    else:
        if runs_it:
            raise PromotionError(
                f"{environment.name} runs {short_digest(bad)}: add --to-previous to roll it back "
                "to the previous good pin"
            )
        restored = None
        new = current.reject(bad)
        subject = f"reject {svc.name} {short_digest(bad)} in {environment.name}"
    body = f"Rejected by {who}: {bad} cannot be promoted to {environment.name} again without --force."
    sha = repo.write_pin(environment.name, svc.name, new, f"{subject}\n\n{body}", who)
    return Rejection(svc.name, environment.name, bad, new, restored, sha)
