"""The reconcile loop: every interval (or at once on a webhook), refresh → plan → sync what changed or drifted.

A **tick** does, in order:

1. ``ConfigRepo.refresh()`` — catch up with the remote (or re-read HEAD of a local work tree).
2. **Plan**: ``DesiredStates.refresh(head)`` re-renders only the apps the new commits touched
   (``ConfigRepo.changes``) or whose chart changed on disk, and keeps the others' renders and hashes.
3. **Per app**, one task (never two at once for one app; an app still busy from an earlier tick is skipped —
   and when this tick rendered something newer for it, the busy task's end asks for another tick at once, so
   a webhook's commit never waits a whole interval behind a slow drift check), at most ``concurrency`` apps
   at a time:

   * an **interrupted operation** in the app's status (its owner process is gone) is resumed first: the same
     SHA is rendered and synced again (``sync.run_sync``; why that converges is explained there), and if the
     config repo moved on meanwhile the decisions below follow for the newest commit;
   * **desired state changed** (its hash differs from the status's ``syncedHash``): sync when the environment's
     ``sync.mode`` is ``auto``; with ``manual``, report OutOfSync (with the differences) until ``ferry sync``;
   * otherwise **drift** (``drift.compare``: a dry-run diff of live vs desired): with ``auto`` and
     ``selfHeal``, sync again, which reverts the hand-made change; otherwise report OutOfSync with the paths;
   * finally the app's health (``read_health``) is written to its status.
4. **Deleted apps** (``orphans.sweep``, one task): an app status whose pin is gone is pruned or reported.

Renders run in a worker thread (one at a time) so the webhook stays responsive during a long render; syncs
are asyncio tasks, so a slow rollout of one app never delays another app's sync or the next tick. The loop is
level-triggered: every decision is taken from the config repo's state and the cluster's, never from an event,
so a missed webhook or a restart costs at most one interval. Logging is one line per action, logger
``ferry.reconcile``.

Races: a webhook that arrives during a tick sets the trigger again, so another tick follows at once. Two
reconcilers on one cluster would both sync an app; apply is idempotent and the inventory write has a
resourceVersion precondition, so the loser of a race reports a failed sync and the next tick converges. An
operation recorded by another process that is still alive (a ``ferry sync`` on this host) is left to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ferry.delivery.apply import (
    ClientConfig,
    KubeApi,
    LightkubeApi,
    read_health,
)
from ferry.delivery.apply.objects import ref_of
from ferry.delivery.apps import AppError, client_config
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.environments import Environment
from ferry.delivery.gitops.desired import AppKey, Desired, DesiredStates, render_one
from ferry.delivery.gitops.drift import compare
from ferry.delivery.gitops.orphans import sweep
from ferry.delivery.gitops.status import (
    AppStatus,
    Operation,
    StatusStore,
    SyncRecord,
    ensure_namespace,
    now,
)
from ferry.delivery.gitops.sync import OWNER, run_sync, short
from ferry.delivery.platform import Platform

__all__ = ["Clusters", "Options", "Reconciler", "sync_now"]

log = logging.getLogger("ferry.reconcile")
SWEEP: AppKey = ("", "deleted apps")  # the orphan sweep's task key (no app has an empty environment)
STALE_OPERATION_SECONDS = 600.0
"""An operation owned by a process on another host is taken over after this long."""


@dataclass(frozen=True)
class Options:
    interval_seconds: float = 30.0
    concurrency: int = 4
    health_timeout_seconds: float = 60.0


class Clusters:
    """One ``KubeApi`` per cluster (kubeconfig, context), opened on first use; ``close()`` closes them."""

    def __init__(self, connect: Callable[[ClientConfig], KubeApi] | None = None) -> None:
        self._connect = connect or LightkubeApi.connect
        self._apis: dict[ClientConfig, KubeApi] = {}

    def api(self, env: Environment) -> KubeApi:
        config = client_config(env)
        if config not in self._apis:
            self._apis[config] = self._connect(config)
        return self._apis[config]

    async def close(self) -> None:
        for api in self._apis.values():
            closer = getattr(api, "close", None)
            if closer is not None:
                await closer()
        self._apis.clear()


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _succeeded(status: AppStatus) -> bool:
    return status.last_sync is not None and status.last_sync.result == "Succeeded"


def _abandoned(op: Operation, owner: str) -> bool:
    """Whether nobody is running ``op`` any more (its process died, or it is stale on another host)."""
    if op.owner == owner:
        return True  # ours but no task holds it: left by a task that was cancelled
    host, _, pid = op.owner.rpartition("/")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)  # signal 0: does the process exist?
        except OSError as exc:  # PermissionError: it exists, as another user's
            return isinstance(exc, ProcessLookupError)
        return False
    try:
        started = datetime.strptime(op.started_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return True
    return (datetime.now(UTC) - started).total_seconds() > STALE_OPERATION_SECONDS


class Reconciler:
    """See the module docstring. ``run(stop)`` loops; ``tick()`` + ``wait_idle()`` is one pass (``--once``)."""

    def __init__(
        self,
        platform: Platform,
        repo: ConfigRepo,
        *,
        clusters: Clusters,
        options: Options = Options(),
        owner: str = OWNER,
        before_refresh: Callable[[], object] | None = None,
    ) -> None:
        self.platform = platform
        self.repo = repo
        self.clusters = clusters
        self.options = options
        self.owner = owner
        self.before_refresh = (
            before_refresh  # e.g. fetch the app repo clone (``apprepo``), in a worker thread
        )
        self.desired = DesiredStates(platform, repo)
        self.trigger = asyncio.Event()
        self.failed: set[AppKey] = set()  # apps whose last reconcile ended in an error
        self._tasks: dict[AppKey, asyncio.Task[None]] = {}
        self._working_on: dict[AppKey, str] = {}  # the hash each app's task was started for
        self._gate = asyncio.Semaphore(options.concurrency)
        self._render = asyncio.Lock()
        self._namespaces: set[tuple[ClientConfig, str]] = set()  # known to exist

    def poke(self) -> None:
        """Ask for a tick now (the webhook)."""
        self.trigger.set()

    async def tick(self) -> None:
        async with self._render:
            if self.before_refresh is not None:
                await asyncio.to_thread(self.before_refresh)
            head = await asyncio.to_thread(self.repo.refresh)
            if head is None:
                log.info("config repo has no commits yet: nothing to reconcile")
                return
            old = self.desired.revision
            touched = await asyncio.to_thread(self.desired.refresh, head)
        if old != head:
            rendered = sorted(f"{e}/{s}" for e, s in touched if (e, s) in self.desired.apps)
            listed = ", ".join(rendered[:5]) + (" ..." if len(rendered) > 5 else "")
            log.info(
                "config repo at %s (was %s): %d app(s) re-rendered%s",
                short(head),
                short(old or ""),
                len(rendered),
                f": {listed}" if rendered else "",
            )
        for key, desired in sorted(self.desired.apps.items()):
            task = self._tasks.get(key)
            if task is not None and not task.done():
                if self._working_on.get(key) != desired.hash:  # newer than what the busy task syncs
                    task.add_done_callback(lambda _: self.poke())
                continue
            self._working_on[key] = desired.hash
            self._tasks[key] = asyncio.create_task(self._guarded(desired), name=f"reconcile {desired.name}")
        if self._tasks.get(SWEEP) is None or self._tasks[SWEEP].done():
            envs = [e for e in self.platform.environments if e.delivery == "gitops"]
            work = sweep(envs, self.clusters.api, set(self.desired.apps), revision=head,
                         busy=lambda op: not _abandoned(op, self.owner))  # fmt: skip
            self._tasks[SWEEP] = asyncio.create_task(self._swept(work), name="reconcile deleted apps")

    async def _swept(self, work: Awaitable[bool]) -> None:
        ok = await work
        (self.failed.discard if ok else self.failed.add)(SWEEP)

    async def wait_idle(self) -> None:
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self, stop: asyncio.Event) -> None:
        log.info(
            "reconciling %d environment(s) x %d service(s) every %gs",
            len(self.platform.environments),
            len(self.platform.services),
            self.options.interval_seconds,
        )
        try:
            while not stop.is_set():
                self.trigger.clear()
                try:
                    await self.tick()
                except Exception as exc:  # a failed refresh (remote down) must not end the loop
                    log.error("tick failed: %s", _line(exc))
                waits = [asyncio.create_task(stop.wait()), asyncio.create_task(self.trigger.wait())]
                await asyncio.wait(
                    waits, timeout=self.options.interval_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                for w in waits:
                    w.cancel()
        finally:
            for task in self._tasks.values():
                task.cancel()
            for task in self._tasks.values():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _guarded(self, desired: Desired) -> None:
        async with self._gate:
            try:
                ok = await self._reconcile(desired)
            except Exception as exc:  # one app's failure (a cluster down, a git error) never ends the loop
                log.error("%s: %s", desired.name, _line(exc))
                ok = False
            if ok:
                self.failed.discard(desired.key)
            else:
                self.failed.add(desired.key)

    async def _reconcile(self, desired: Desired) -> bool:
        """One app's decision (see the module docstring); False when it ended in an error."""
        env = self.platform.environment(desired.env)
        api = self.clusters.api(env)
        store = StatusStore(api)
        if (client_config(env), env.namespace) not in self._namespaces:
            if await ensure_namespace(api, env.namespace):
                log.info("%s: created namespace %s", desired.name, env.namespace)
            self._namespaces.add((client_config(env), env.namespace))
        status, _ = await store.read(desired.env, desired.service, env.namespace)
        op = status.operation
        if op is not None:
            if not _abandoned(op, self.owner):
                log.info("%s: sync %s is running in %s; leaving it", desired.name, short(op.sha), op.owner)
                return True
            resumed = await self._resume(api, desired, op, env)
            if not resumed or desired.app is None:
                return resumed
            status, _ = await store.read(desired.env, desired.service, env.namespace)
            if status.synced_hash == desired.hash:
                return True
            # the config repo moved on while the operation was interrupted: decide on the newest state too
        if desired.app is None:
            await self._report_error(store, desired, env, status)
            return False
        prune = env.sync.prune
        timeout = self.options.health_timeout_seconds
        if desired.hash != status.synced_hash:
            if env.sync.mode == "auto":
                reason = "new revision" if status.synced_hash else "first sync"
                done = await run_sync(
                    api, desired, reason=reason, prune=prune, health_timeout_seconds=timeout
                )
                return _succeeded(done)
            comparison = await compare(api, desired.app, prune=prune)
            message = (
                f"manual sync policy: {short(desired.revision)} is not synced "
                f"(ferry sync {desired.service} --env {desired.env})"
            )
            await self._report(store, desired, env, status, "OutOfSync", message, comparison.changes)
            return True
        comparison = await compare(api, desired.app, prune=prune)
        if comparison.in_sync:
            await self._report(store, desired, env, status, "Synced", "", ())
            return True
        if env.sync.mode == "auto" and env.sync.self_heal:
            log.info("%s: drift: %s; self-healing", desired.name, comparison.summary)
            healed = await run_sync(
                api,
                desired,
                reason="self-heal",
                prune=prune,
                health_timeout_seconds=timeout,
                who="ferry (self-heal)",
            )
            return _succeeded(healed)
        message = f"drift (selfHeal off): {comparison.summary}"
        await self._report(store, desired, env, status, "OutOfSync", message, comparison.changes)
        return True

    async def _resume(self, api: KubeApi, desired: Desired, op: Operation, env: Environment) -> bool:
        log.info(
            "%s: resuming interrupted sync %s (%s, phase %s, owner %s)",
            desired.name,
            short(op.sha),
            op.reason,
            op.phase,
            op.owner,
        )
        target = desired
        if op.sha and op.sha != desired.revision:
            async with self._render:
                found = await asyncio.to_thread(self.desired.at, desired.env, desired.service, op.sha)
            target = found if found is not None and found.app is not None else desired
        if target.app is None:
            await self._report_error(StatusStore(api), target, env, None)
            return False
        reason = op.reason if op.reason.startswith("resume") else f"resume of {op.reason}"
        done = await run_sync(
            api,
            target,
            reason=reason,
            prune=env.sync.prune,
            health_timeout_seconds=self.options.health_timeout_seconds,
        )
        return _succeeded(done)

    async def _report(
        self,
        store: StatusStore,
        desired: Desired,
        env: Environment,
        before: AppStatus,
        sync: str,
        message: str,
        drift: tuple[str, ...],
    ) -> None:
        assert desired.app is not None
        refs = [ref_of(o) for o in desired.app.objects]
        health = await read_health(store.api, refs)
        pin = desired.app.pin

        def change(s: AppStatus) -> AppStatus:
            synced = sync == "Synced"
            return replace(
                s.with_health(health.status.value, health.reason, pin.digest if synced else s.digest),
                sync=sync,
                message=message,
                drift=drift,
                # a commit that did not change this app's desired state does not rewrite its status
                revision=s.revision if s.desired_hash == desired.hash and s.revision else desired.revision,
                desired_hash=desired.hash,
                tag=pin.tag if synced else s.tag,
            )

        after = await store.update(desired.env, desired.service, env.namespace, change)
        if (before.sync, before.message, before.health) != (after.sync, after.message, after.health):
            log.info(
                "%s: %s, %s%s",
                desired.name,
                after.sync,
                after.health,
                f": {after.message}" if after.message else "",
            )

    async def _report_error(
        self, store: StatusStore, desired: Desired, env: Environment, status: AppStatus | None
    ) -> None:
        """An app that cannot be rendered: Unknown with the error, one Failed history entry per revision."""
        message = f"cannot render {desired.revision[:7]}: {desired.error}"

        def change(s: AppStatus) -> AppStatus:
            out = replace(s, sync="Unknown", message=message, revision=desired.revision, operation=None)
            last = s.last_sync
            if last is None or last.sha != desired.revision or last.result != "Failed":
                out = out.with_sync(SyncRecord(desired.revision, now(), "Failed", desired.author, message))
            return out

        before = status or (await store.read(desired.env, desired.service, env.namespace))[0]
        after = await store.update(desired.env, desired.service, env.namespace, change)
        if before.message != after.message:
            log.warning("%s: %s", desired.name, message)


async def sync_now(
    platform: Platform,
    repo: ConfigRepo,
    env: str,
    service: str,
    *,
    clusters: Clusters,
    health_timeout_seconds: float = 60.0,
    who: str | None = None,
) -> AppStatus:
    """``ferry sync``: sync one app at the config repo's head now, whatever its sync policy says."""
    environment = platform.environment(env)
    platform.service(service)
    head = await asyncio.to_thread(repo.refresh)
    if head is None:
        raise AppError("the config repo has no commits yet: promote a build first")
    desired = await asyncio.to_thread(render_one, platform, repo, env, service, head)
    if desired is None:
        raise AppError(
            f"no image is pinned for {service} in {env}: promote a build first "
            f"(ferry promote {service} --to {env} --build <record>)"
        )
    if desired.app is None:
        raise AppError(f"{env}/{service}: cannot render {short(head)}: {desired.error}")
    return await run_sync(
        clusters.api(environment),
        desired,
        reason="ferry sync",
        prune=environment.sync.prune,
        health_timeout_seconds=health_timeout_seconds,
        who=who,
    )
