"""``ferry promote``: move a digest into an environment by committing its pin, after the gates said yes.

Two sources:

* **a build record** (``ferry ci``'s ``.ferry/ci/<sha7>/<service>.json``, or that directory for several
  services) enters the *first* environment. Only ``status: ok`` records with a digest are accepted, for the
  service they name; the pin's repository is the service's ``image`` from ``ferry.yaml`` (the record's own
  image reference must be in it), its tag, digest, ``gitSha`` come from the record.
* **an environment** (``--from sit --to qa``): the source environment's pin moves as it is (same repository,
  tag, digest, build provenance), to the environment right after it; skipping one is refused.

The target's ``rejected`` list is carried over to the new pin (``--force`` drops the forced digest from it).

**Release sets.** Several services promote together in dependency order (``Platform.deploy_order``,
restricted to the services named). Every gate of every service is checked **before any write**: one refusal
and nothing is committed. Then each service gets **its own commit**, dependencies first: one pin per commit
keeps ``ConfigRepo.write_pin``'s guarantees (only that file changes, a concurrent change to the same pin is a
``PinConflict``, never an overwrite), lets ``ferry reject`` roll one service back by its history, and lets the
reconciler sync the dependencies first when it picks up the commits in order. The price: a push failure
half-way leaves the earlier services promoted; the error names what was committed, and re-running the same
command promotes the rest (services already at the digest are no-ops).

**Commit message.** The subject says what moved (``promote order-service 1.4.2-a8f3d21 (sha256:ab12…) sit →
qa``); the body says why: each gate's result, who promoted it and, for a build, the record it came from. The
author is the person (or CI identity) who ran ``ferry promote``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.pins import DIGEST, Pin, move_message
from ferry.delivery.platform import Platform
from ferry.delivery.promotion.errors import GateRefused, PromotionError
from ferry.delivery.promotion.gates import GateResult, Move, VerifyRunner, check_gates, run_verify
from ferry.delivery.promotion.observe import Observer
from ferry.delivery.repoerrors import PinError

__all__ = ["Promotion", "pin_from_build_record", "promote", "rfc3339"]


@dataclass(frozen=True)
class Promotion:
    service: str
    source: str  # an environment name, or "build"
    target: str
    pin: Pin
    gates: list[GateResult]
    commit: str | None = None  # None: already there, nothing committed
    noop: bool = False


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_record(path: Path, service: str) -> dict[str, Any]:
    if path.is_dir():
        path = path / f"{service}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PromotionError(f"{path}: no build record for {service} (ferry ci writes them)") from None
    except (OSError, ValueError) as exc:
        raise PromotionError(f"{path}: not a build record: {exc}") from None
    if not isinstance(data, dict):
        raise PromotionError(f"{path}: not a build record (a JSON object from ferry ci)")
    return data


def pin_from_build_record(platform: Platform, service: str, record_path: Path) -> Pin:
    """The pin a build record describes, checked against ``ferry.yaml`` (see the module docstring)."""
    svc = platform.service(service)
    record = _read_record(record_path, service)
    where = str(record_path)
    if record.get("service") != svc.name:
        raise PromotionError(f"{where}: is the build record of {record.get('service')!r}, not {svc.name!r}")
    if record.get("status") != "ok":
        step = record.get("failedStep") or "?"
        raise PromotionError(f"{where}: {svc.name}'s build failed at {step}: nothing to promote")
    digest, tag = record.get("digest"), record.get("tag")
    if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
        raise PromotionError(f"{where}: digest: must be sha256:<64 lowercase hex>")
    image = str(record.get("image") or "")
    if image and not image.startswith(svc.image + ":") and not image.startswith(svc.image + "@"):
        raise PromotionError(f"{where}: image {image} is not {svc.name}'s repository {svc.image}")
    try:
        return Pin(
            repository=svc.image,
            tag=str(tag),
            digest=digest,
            git_sha=str(record["gitSha"]) if record.get("gitSha") else None,
            promoted_from="build",
        )
    except PinError as exc:
        raise PromotionError(f"{where}: {exc}") from None


async def promote(
    platform: Platform,
    repo: ConfigRepo,
    services: Sequence[str],
    *,
    target: str,
    observer: Observer,
    who: str,
    now: datetime,
    source: str | None = None,
    build: Path | None = None,
    force: bool = False,
    skip_approval: bool = False,
    verify: VerifyRunner = run_verify,
) -> list[Promotion]:
    """Check every gate of every service, then commit one pin per service in dependency order."""
    if not services:
        raise PromotionError("name at least one service to promote")
    to_env = platform.environment(target)
    first = platform.environments[0]
    for env in (to_env, platform.environment(source) if source else None):
        if env is not None and env.delivery != "gitops":
            raise PromotionError(
                f"{env.name} is delivered by push (ferry.yaml line {env.line}): promotions move pins between "
                "GitOps environments; deploy it with ferry deploy"
            )
    if build is not None:
        if source is not None:
            raise PromotionError(
                "--build and --from exclude each other: a build enters the first environment"
            )
        if to_env.name != first.name:
            raise PromotionError(
                f"a build record enters {first.name} only; promote to {to_env.name} from the environment before it"
            )
        from_env = None
    else:
        previous = platform.previous_environment(to_env.name)
        if previous is None:
            raise PromotionError(
                f"{to_env.name} is the first environment: promote a build record into it (--build)"
            )
        if source is not None and platform.environment(source).name != previous.name:
            raise PromotionError(
                f"{to_env.name} is entered from {previous.name}, not {source}: environments are promoted in order "
                f"({' → '.join(e.name for e in platform.environments)})"
            )
        from_env = previous
    named = {platform.service(s).name for s in services}
    order = [s for s in platform.deploy_order(sorted(named)) if s in named]

    moves: list[Move] = []
    for name in order:
        current = repo.read_pin(to_env.name, name)
        if from_env is None:
            assert build is not None
            source_pin = None
            base = pin_from_build_record(platform, name, build)
        else:
            source_pin = repo.read_pin(from_env.name, name)
            if source_pin is None:
                raise PromotionError(
                    f"{name} has no pin in {from_env.name}: nothing to promote to {to_env.name}"
                )
            base = source_pin
        rejected = tuple(d for d in (current.rejected if current else ()) if not (force and d == base.digest))
        new = replace(
            base,
            promoted_from=from_env.name if from_env else "build",
            promoted_at=rfc3339(now),
            promoted_by=who,
            rejected=rejected,
        )
        moves.append(Move(name, from_env, source_pin, to_env, new, current))

    checked: list[tuple[Move, list[GateResult]]] = []
    for move in moves:
        if move.current is not None and move.current.digest == move.pin.digest:
            checked.append((move, []))  # already there: no gates, no commit
            continue
        results = await check_gates(
            move,
            repo=repo,
            observer=observer,
            now=now,
            verify=verify,
            cwd=platform.root,
            force=force,
            skip_approval=skip_approval,
        )
        failed = [r for r in results if not r.passed]
        if failed:
            src = move.source.name if move.source else "build"
            raise GateRefused(
                f"promote {move.service} {src} → {to_env.name} refused by gate {failed[0].gate}: {failed[0].detail}"
                + ("; nothing was committed" if len(moves) > 1 else ""),
                gate=failed[0].gate,
                service=move.service,
            )
        checked.append((move, results))

    done: list[Promotion] = []
    for move, results in checked:
        src = move.source.name if move.source else "build"
        if not results:
            done.append(
                Promotion(move.service, src, to_env.name, move.current or move.pin, [], None, noop=True)
            )
            continue
        subject = move_message(
            move.service, move.pin, to_env=to_env.name, from_env=move.source.name if move.source else None
        )
        body = [f"Promoted by {who}."]
        if build is not None:
            body.append(f"Build record: {build}")
        body += [f"Gate {r.gate}: {r.detail}" for r in results]
        try:
            sha = repo.write_pin(to_env.name, move.service, move.pin, subject + "\n\n" + "\n".join(body), who)
        except Exception as exc:
            if done:
                names = ", ".join(p.service for p in done if not p.noop) or "none"
                raise PromotionError(
                    f"{exc} (already promoted: {names}; re-run to promote the rest)"
                ) from exc
            raise
        done.append(Promotion(move.service, src, to_env.name, move.pin, results, sha))
    return done
