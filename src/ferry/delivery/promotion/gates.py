"""The gates a digest passes to enter an environment, checked in a fixed order, cheapest first.

For ``promote order-service sit → qa`` at digest D (qa's ``promotion`` settings, see
``ferry.delivery.environments.PromotionGates``):

    rejected   D is not in qa's pin ``rejected`` list (``ferry reject`` put it there)   --force skips it
    approval   qa asks for one: ``envs/qa/order-service/approvals.yaml`` approves D     --skip-approval skips it
    health     sit's app is Healthy now (read live, never from a cached status)
    sync       sit is Synced and every live workload of the app runs D (``AppState.runs``)
    soak       sit has been at D for ``soakSeconds``: measured from the later of sit's pin ``promotedAt``
               (when D entered sit: the config repo says it) and the reconciler's ``healthySince`` (when the
               app last became Healthy at its digest, if the reconciler reports it). Healthy *now* is the
               health gate's job; soak only measures time at D.
    verify     qa's ``verify`` command exits 0 within ``verifyTimeoutSeconds``; it runs against sit, with
               FERRY_ENV, FERRY_SERVICE, FERRY_NAMESPACE, FERRY_KUBECONFIG, FERRY_CONTEXT and FERRY_DIGEST set,
               in the app repository's root. Last, because it is the only gate with side effects and cost.

The first environment is entered from a build record: only ``rejected`` and ``approval`` apply (the model
refuses soak and verify there). The check stops at the first gate that fails and returns what it saw; the
caller turns a failure into one line: ``promote order-service sit → qa refused by gate health: sit is Degraded
(Deployment shop-sit/order-service: ...)``.

Race: the gates look at sit at one moment and the pin is written a moment later; a digest that turns bad in
between is promoted anyway. That window is the same in Argo CD/Kargo-style promotion; the reconciler's health
reporting and ``ferry reject`` are the remedy, not a lock on sit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.environments import Environment
from ferry.delivery.pins import Pin, short_digest
from ferry.delivery.promotion.approvals import find_approval
from ferry.delivery.promotion.observe import Observer, parse_time

__all__ = ["GateResult", "Move", "VerifyRunner", "check_gates", "run_verify"]

VerifyRunner = Callable[[str, Mapping[str, str], float, Path], tuple[bool, str]]
"""``(command, extra environment, timeout seconds, working directory) -> (passed, one-line detail)``."""


@dataclass(frozen=True)
class GateResult:
    gate: str  # rejected | approval | health | sync | soak | verify
    passed: bool
    detail: str


@dataclass(frozen=True)
class Move:
    """One service's digest going from ``source`` (an environment, or None for a build record) to ``target``."""

    service: str
    source: Environment | None
    source_pin: Pin | None  # the source environment's pin (None from a build)
    target: Environment
    pin: Pin  # what the target's pin becomes
    current: Pin | None  # the target's pin now


async def check_gates(
    move: Move,
    *,
    repo: ConfigRepo,
    observer: Observer,
    now: datetime,
    verify: VerifyRunner,
    cwd: Path,
    force: bool = False,
    skip_approval: bool = False,
) -> list[GateResult]:
    """Every gate up to and including the first that fails (see the module docstring for the order)."""
    out: list[GateResult] = []
    digest, short = move.pin.digest, short_digest(move.pin.digest)
    gates = move.target.promotion

    def add(gate: str, passed: bool, detail: str) -> bool:
        out.append(GateResult(gate, passed, detail))
        return passed

    rejected = move.current is not None and digest in move.current.rejected
    if rejected and not force:
        add(
            "rejected", False, f"{short} was rejected in {move.target.name} (ferry reject); --force overrides"
        )
        return out
    add("rejected", True, f"{short} was rejected, promoted with --force" if rejected else "not rejected")
    if gates.approval:
        if skip_approval:
            add("approval", True, "skipped (--skip-approval)")
        else:
            found = find_approval(repo, move.target.name, move.service, digest)
            if found is None:
                add(
                    "approval",
                    False,
                    f"{move.target.name} needs an approval: "
                    f"ferry approve {move.service} --env {move.target.name} --digest {digest}",
                )
                return out
            add("approval", True, f"approved by {found.approved_by} at {found.approved_at}")
    if move.source is None:
        return out
    src = move.source.name
    state = await observer.observe(move.source, move.service, move.source_pin)
    if state.health != "Healthy":
        add("health", False, f"{src} is {state.health}" + (f" ({state.reason})" if state.reason else ""))
        return out
    add("health", True, f"{src} is Healthy")
    if state.sync != "Synced" or not state.runs(digest):
        if state.sync != "Synced":
            why = f"{src} is {state.sync}" + (f" ({state.sync_reason})" if state.sync_reason else "")
        else:
            running = (
                ", ".join(sorted({short_digest(d) if d != "?" else "?" for d in state.digests})) or "nothing"
            )
            why = f"{src} runs {running}, not {short}"
        add("sync", False, why)
        return out
    add("sync", True, f"{src} is Synced at {short}")
    if gates.soak_seconds > 0:
        starts = [
            t
            for t in (
                parse_time(move.source_pin.promoted_at if move.source_pin else None),
                state.healthy_since,
            )
            if t
        ]
        if not starts:
            add("soak", False, f"{src}'s pin has no promotedAt: cannot tell how long it has run {short}")
            return out
        since = max(starts)
        elapsed = (now - since).total_seconds()
        if elapsed < gates.soak_seconds:
            add(
                "soak",
                False,
                f"{src} has been at {short} for {max(elapsed, 0):.0f}s of {gates.soak_seconds:.0f}s "
                f"(since {since.isoformat()})",
            )
            return out
        add("soak", True, f"{src} at {short} for {elapsed:.0f}s (≥ {gates.soak_seconds:.0f}s)")
    if gates.verify:
        extra = {
            "FERRY_ENV": src,
            "FERRY_SERVICE": move.service,
            "FERRY_NAMESPACE": move.source.namespace,
            "FERRY_KUBECONFIG": str(move.source.cluster.kubeconfig or ""),
            "FERRY_CONTEXT": move.source.cluster.context or "",
            "FERRY_DIGEST": digest,
        }
        passed, detail = verify(gates.verify, extra, gates.verify_timeout_seconds, cwd)
        if not add("verify", passed, f"`{gates.verify}` against {src}: {detail}"):
            return out
    return out


def run_verify(command: str, extra: Mapping[str, str], timeout_seconds: float, cwd: Path) -> tuple[bool, str]:
    """Run ``command`` with ``sh -c``; on timeout its whole process group is killed. ``(passed, detail)``."""
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        env={**os.environ, **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return False, f"timed out after {timeout_seconds:g}s"
    lines = [line.strip() for line in (output or "").splitlines() if line.strip()]
    if proc.returncode == 0:
        return True, "passed"
    last = f": {lines[-1][:200]}" if lines else ""
    return False, f"exit status {proc.returncode}{last}"
