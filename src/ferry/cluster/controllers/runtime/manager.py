"""The controller manager: runs controllers inside the cluster process, as kube-controller-manager does.

A controller is written against seams (listers, a client, a recorder, a clock; see ``types.py``) and
shows the manager two things — the :class:`Controller` protocol:

* ``handlers()`` — for each resource it watches (``"apps/v1/replicasets"``), functions that turn an
  add/update/delete into the *keys* to sync: ``"ns/name"`` now, or ``(key, seconds)`` (:class:`After`)
  later. The other accepted shape, :class:`ResourceController`, has ``resources`` and
  ``on_add/on_update/on_delete(resource, ...)`` instead;
* ``sync(key)`` — level-triggered reconciliation of one key. It may return a :class:`SyncOutcome`
  (``requeue_after_seconds``: sync again after a delay, for timers; ``requeue_rate_limited``: soon), or
  raise to be retried with back-off. Optionally ``async run(stop)``: a loop of its own (heartbeats,
  timers), started once the caches have synced.

It is registered with a :class:`ControllerSpec`: a name — its identity — and a ``build`` function that
receives a :class:`ControllerContext` (its client, recorder, clock and shared listers) and returns the
controller. The identity must exist before the controller does, which is why the name lives in the spec.

What the manager does with them:

* **identities** — one random bearer token per controller, registered in the server's authenticator as
  ``system:serviceaccount:kube-system:<name>`` (kube's ``--use-service-account-credentials``); the
  informers read as ``system:kube-controller-manager``. The tokens are removed when the manager stops.
  Writes carry the User-Agent ``kube-controller-manager/<version> ...``, so managedFields say so.
* **shared informers** — one :class:`~.informer.Informer` per resource, whatever the number of
  controllers watching it; workers start only once every informer has listed (WaitForCacheSync).
* **workers** — N per controller (default 5, like kube's ``--concurrent-*-syncs``), all draining that
  controller's :class:`~.workqueue.WorkQueue`, which never hands out a key that is being processed.
* **results** — success forgets the key's back-off, then honours the requeue requests; failure requeues
  rate-limited (5 ms doubling up to 1000 s) until ``max_retries`` (15, like the deployment controller)
  and then drops the key with a log line (the next event or resync brings it back). A
  namespace-terminating rejection is forgotten at once.
* **resync** — every ``resync_period_seconds`` each controller's ``on_update(obj, obj)`` runs for every
  cached object of the resources it watches (client-go's resync: handlers that skip unchanged
  resourceVersions, as kube's pod handlers do, ignore it).
* **failures** — a controller whose ``build`` raises is logged and left out; the others run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, cast

from ferry.cluster.apiserver.app import VERSION_INFO
from ferry.cluster.apiserver.auth import UserInfo
from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.controllers.runtime.client import ApiClient
from ferry.cluster.controllers.runtime.informer import Informer, InformerFactory, InformerSettings
from ferry.cluster.controllers.runtime.recorder import EventRecorder, namespace_terminating
from ferry.cluster.controllers.runtime.types import ApiStatusError, Clock, Lister, Obj, SystemClock
from ferry.cluster.controllers.runtime.workqueue import WorkQueue

log = logging.getLogger("ferry.controllers")

INFORMER_USER = UserInfo("system:kube-controller-manager", ("system:authenticated",))


class After(NamedTuple):
    """A key to enqueue after a delay (e.g. a pod became ready and minReadySeconds must pass).

    Any ``(key, seconds)`` tuple is understood the same way (the ReplicaSet controller's ``Enqueue``).
    """

    key: str
    seconds: float = 0.0


# What a handler returns: keys to sync now, or (key, seconds) pairs to sync later.
Keys = Iterable[str | tuple[str, float]]


class HandlerSet(Protocol):
    """One resource's handlers; None means that kind of event is ignored."""

    @property
    def on_add(self) -> Callable[[Obj], Keys] | None: ...

    @property
    def on_update(self) -> Callable[[Obj, Obj], Keys] | None: ...

    @property
    def on_delete(self) -> Callable[[Obj], Keys] | None: ...


@dataclass(frozen=True)
class Handlers:
    """The plain :class:`HandlerSet`."""

    on_add: Callable[[Obj], Keys] | None = None
    on_update: Callable[[Obj, Obj], Keys] | None = None
    on_delete: Callable[[Obj], Keys] | None = None


class SyncOutcome(Protocol):
    """What a sync may return: sync again after ``requeue_after_seconds`` (a timer). An optional
    ``requeue_rate_limited: bool`` attribute asks for a rate-limited requeue (soon)."""

    @property
    def requeue_after_seconds(self) -> float | None: ...


@dataclass(frozen=True)
class SyncResult:
    """The plain :class:`SyncOutcome`."""

    requeue_after_seconds: float | None = None
    requeue_rate_limited: bool = False


class Controller(Protocol):
    """The canonical controller shape."""

    def handlers(self) -> Mapping[str, HandlerSet]:
        """Resource (``"apps/v1/replicasets"``) → the handlers turning its events into keys."""
        ...

    async def sync(self, key: str) -> SyncOutcome | None:
        """Reconcile one key. Raise to be retried with back-off."""
        ...


class ResourceController(Protocol):
    """The other accepted shape: the watched ``resources`` and one ``on_*`` per event type that is told
    which resource the object belongs to."""

    @property
    def resources(self) -> Sequence[str]: ...

    def on_add(self, resource: str, obj: Obj) -> Keys: ...

    def on_update(self, resource: str, old: Obj, new: Obj) -> Keys: ...

    def on_delete(self, resource: str, obj: Obj) -> Keys: ...

    async def sync(self, key: str) -> SyncOutcome | None: ...


AnyController = Controller | ResourceController


def handlers_of(controller: AnyController) -> dict[str, HandlerSet]:
    """The per-resource handlers of either controller shape."""
    handlers = getattr(controller, "handlers", None)
    if callable(handlers):
        return dict(handlers())
    rc = cast(ResourceController, controller)
    return {resource: _bound(rc, resource) for resource in rc.resources}


def _bound(rc: ResourceController, resource: str) -> Handlers:
    def on_add(obj: Obj) -> Keys:
        return rc.on_add(resource, obj)

    def on_update(old: Obj, new: Obj) -> Keys:
        return rc.on_update(resource, old, new)

    def on_delete(obj: Obj) -> Keys:
        return rc.on_delete(resource, obj)

    return Handlers(on_add, on_update, on_delete)


@dataclass
class ControllerContext:
    """What ``ControllerSpec.build`` gets: the controller's identity-bound client and recorder."""

    name: str
    client: ApiClient
    recorder: EventRecorder
    clock: Clock
    informers: InformerFactory

    def lister(self, resource: str) -> Lister:
        """The shared cache of ``resource`` (all namespaces)."""
        return self.informers.informer(resource)


@dataclass(frozen=True)
class ControllerSpec:
    name: str  # "deployment-controller": the service account, the events' source, the log name
    build: Callable[[ControllerContext], AnyController]
    workers: int | None = None  # default: ManagerSettings.workers_per_controller


@dataclass
class ManagerSettings:
    workers_per_controller: int = 5
    resync_period_seconds: float = 30.0
    max_retries: int = 15
    informer: InformerSettings = field(default_factory=InformerSettings)
    clock: Clock = field(default_factory=SystemClock)


def _requeue_of(result: Any) -> tuple[float | None, bool]:
    """(delay, rate-limited-now) from a :class:`SyncOutcome`."""
    after = getattr(result, "requeue_after_seconds", None)
    return (None if after is None else float(after)), bool(getattr(result, "requeue_rate_limited", False))


class ControllerRunner:
    """One controller's queue, handler routing and workers."""

    def __init__(self, spec: ControllerSpec, controller: AnyController, queue: WorkQueue, max_retries: int):
        self.spec = spec
        self.controller = controller
        self.queue = queue
        self.max_retries = max_retries
        self.handlers = handlers_of(controller)

    def enqueue(self, keys: Keys | None) -> None:
        for k in keys or ():
            if isinstance(k, str):
                self.queue.add(k)
            else:
                self.queue.add_after(k[0], k[1])

    def attach(self, resource: str, informer: Informer) -> None:
        """Route ``informer``'s events through this controller's handlers for ``resource`` into its queue."""
        h = self.handlers[resource]

        def guard(fn: Callable[..., Keys], *objs: Obj) -> None:
            try:
                self.enqueue(fn(*objs))
            except Exception:
                log.exception("%s: %s handler for %s failed", self.spec.name, fn.__name__, resource)

        on_add, on_update, on_delete = h.on_add, h.on_update, h.on_delete
        informer.add_handler(
            None if on_add is None else lambda o: guard(on_add, o),
            None if on_update is None else lambda old, new: guard(on_update, old, new),
            None if on_delete is None else lambda o: guard(on_delete, o),
        )

    def resync(self, informers: Mapping[str, Informer]) -> None:
        for resource, h in self.handlers.items():
            if h.on_update is None:
                continue
            for obj in informers[resource].list():
                try:
                    self.enqueue(h.on_update(obj, obj))
                except Exception:
                    log.exception("%s: resync handler for %s failed", self.spec.name, resource)

    async def process(self, key: str) -> None:
        """Sync one key and decide its future (the caller holds it as processing)."""
        try:
            result = await self.controller.sync(key)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if isinstance(e, ApiStatusError) and namespace_terminating(e):
                self.queue.forget(key)
            elif self.queue.num_requeues(key) < self.max_retries:
                log.info("%s: error syncing %r, requeuing: %s", self.spec.name, key, e)
                self.queue.add_rate_limited(key)
            else:
                log.warning("%s: dropping %r out of the queue: %s", self.spec.name, key, e)
                self.queue.forget(key)
            return
        self.queue.forget(key)
        after, now = _requeue_of(result)
        if after is not None:
            self.queue.add_after(key, after)
        if now:
            self.queue.add_rate_limited(key)

    async def worker(self) -> None:
        while (key := await self.queue.get()) is not None:
            try:
                await self.process(key)
            finally:
                self.queue.done(key)


@dataclass(frozen=True)
class Connection:
    """Where the controllers' clients connect, and how each identity gets its bearer token.

    In the API server's own process (tests, ``local_connection``) tokens are minted and registered with
    the authenticator directly. In the controller-manager process (``ferry.cluster.controllers.process``)
    the API server's process minted them beforehand and ``issue_token`` looks them up by agent name.
    """

    server_url: str
    ca_file: str | None
    issue_token: Callable[[UserInfo, str], str]
    revoke_token: Callable[[str], None] = lambda token: None


def local_connection(ctx: ApiContext) -> Connection:
    """A connection to the API server of ``ctx``, registering fresh tokens with its authenticator."""

    def issue(user: UserInfo, agent: str) -> str:
        token = secrets.token_hex(32)
        ctx.authenticator.tokens[token] = user
        return token

    def revoke(token: str) -> None:
        ctx.authenticator.tokens.pop(token, None)

    return Connection(ctx.settings.server_url, ctx.settings.ca_file or None, issue, revoke)


def controller_user(name: str) -> UserInfo:
    """The identity controller ``name`` acts as (its service account in kube-system)."""
    groups = ("system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated")
    return UserInfo(f"system:serviceaccount:kube-system:{name}", groups)


SHARED_INFORMERS = "shared-informers"  # the agent name of the informers' client


class ControllerManager:
    """Runs ``controllers`` against the API server of ``ctx`` (or a ``Connection``) until ``stop`` is set."""

    def __init__(
        self,
        ctx: ApiContext | Connection,
        stop: asyncio.Event,
        controllers: Sequence[ControllerSpec] = (),
        *,
        settings: ManagerSettings | None = None,
    ) -> None:
        self.connection = ctx if isinstance(ctx, Connection) else local_connection(ctx)
        self.stop = stop
        self.specs = list(controllers)
        self.settings = settings or ManagerSettings()
        self.runners: list[ControllerRunner] = []
        self._tokens: list[str] = []
        self._clients: list[ApiClient] = []
        self._recorders: list[EventRecorder] = []
        self.informers: InformerFactory | None = None

    def _client(self, user: UserInfo, agent: str) -> ApiClient:
        token = self.connection.issue_token(user, agent)
        self._tokens.append(token)
        ua = f"kube-controller-manager/{VERSION_INFO['gitVersion']} (linux/amd64) kubernetes/ferry/{agent}"
        c = self.connection
        client = ApiClient(c.server_url, token, ca_file=c.ca_file, user_agent=ua)
        self._clients.append(client)
        return client

    def _build(self, factory: InformerFactory) -> None:
        for spec in self.specs:
            client = self._client(controller_user(spec.name), spec.name)
            recorder = EventRecorder(client, spec.name, clock=self.settings.clock)
            self._recorders.append(recorder)
            cctx = ControllerContext(spec.name, client, recorder, self.settings.clock, factory)
            try:
                controller = spec.build(cctx)
                runner = ControllerRunner(
                    spec, controller, WorkQueue(name=spec.name), self.settings.max_retries
                )
            except Exception:
                log.exception("controller %s failed to start; the others run without it", spec.name)
                continue
            for resource in runner.handlers:
                runner.attach(resource, factory.informer(resource))
            self.runners.append(runner)

    async def run(self) -> None:
        if not self.specs:
            return
        factory = InformerFactory(self._client(INFORMER_USER, SHARED_INFORMERS), self.settings.informer)
        self.informers = factory
        tasks: list[asyncio.Task[None]] = []
        try:
            self._build(factory)
            factory.start(self.stop)
            synced = asyncio.ensure_future(factory.wait_synced())
            stopped = asyncio.ensure_future(self.stop.wait())
            await asyncio.wait({synced, stopped}, return_when=asyncio.FIRST_COMPLETED)
            synced.cancel()
            stopped.cancel()
            if self.stop.is_set():
                return
            for runner in self.runners:
                n = runner.spec.workers or self.settings.workers_per_controller
                tasks += [
                    asyncio.create_task(runner.worker(), name=f"{runner.spec.name}-{i}") for i in range(n)
                ]
            for runner in self.runners:
                own = getattr(runner.controller, "run", None)
                if callable(own):  # a loop of its own (timers, heartbeats): started once the caches synced
                    tasks.append(asyncio.create_task(own(self.stop), name=f"{runner.spec.name}-run"))
            tasks.append(asyncio.create_task(self._resync(factory), name="resync"))
            log.info("controllers running: %s", ", ".join(s.name for s in self.specs))
            await self.stop.wait()
        finally:
            for runner in self.runners:
                runner.queue.shutdown()
            for t in [*tasks, *factory.tasks]:
                t.cancel()
            for t in [*tasks, *factory.tasks]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            for recorder in self._recorders:
                await recorder.close(timeout_seconds=1.0)
            for client in self._clients:
                await client.close()
            for token in self._tokens:
                self.connection.revoke_token(token)

    async def _resync(self, factory: InformerFactory) -> None:
        period = self.settings.resync_period_seconds
        while period > 0:
            await asyncio.sleep(period)
            for runner in self.runners:
                runner.resync(factory.informers)


# The controllers `ferry cluster up` runs; the workload controllers add themselves here as they land.
DEFAULT_CONTROLLERS: list[ControllerSpec] = []


async def controller_manager(
    ctx: ApiContext,
    stop: asyncio.Event,
    controllers: Sequence[ControllerSpec] | None = None,
    *,
    settings: ManagerSettings | None = None,
) -> None:
    """A cluster component (``server.Component``): run ``controllers`` (default: DEFAULT_CONTROLLERS)."""
    chosen = DEFAULT_CONTROLLERS if controllers is None else controllers
    try:
        await ControllerManager(ctx, stop, chosen, settings=settings).run()
    except Exception:
        log.exception("the controller manager failed")  # a component's failure must not pass silently
        raise
