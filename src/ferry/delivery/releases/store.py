"""Where release records live: the ``ReleaseStore`` seam, its lightkube implementation and an in-memory one.

Every write is conditional, which is the whole of the concurrency story:

* ``create`` fails with ``ReleaseConflict`` when the record already exists (a POST: the API answers 409
  AlreadyExists). Two processes that both computed "the next revision is 7" cannot both write v7; the loser
  re-reads and sees someone else's active release.
* ``update`` carries the resourceVersion read with the record (a PUT with ``metadata.resourceVersion``: the
  API answers 409 Conflict when the object changed since). A process whose lease was taken over finds out at
  its next write, never overwrites the taker's record, and stops.

``KubeReleaseStore`` talks to the cluster through lightkube with a kubeconfig, like the apply engine, and
turns transport failures into the apply engine's ``ClusterUnreachableError`` so the CLI prints one line.
``MemoryReleaseStore`` keeps the same contract (it bumps a counter as resourceVersion) for unit tests and
for tools that want a dry run of the state machine.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol, cast

import httpx2
from lightkube import AsyncClient, KubeConfig
from lightkube.core.exceptions import ApiError, ConfigError
from lightkube.resources.core_v1 import Secret

from ferry.delivery.apply import ApplyError, ClientConfig, ClusterUnreachableError
from ferry.delivery.releases.records import Release, decode, encode

__all__ = ["KubeReleaseStore", "MemoryReleaseStore", "ReleaseConflict", "ReleaseStore", "StoredRelease"]

StoredRelease = tuple[Release, str]
"""A release and the resourceVersion it was read at (the precondition of its next update)."""


def _secret(body: dict[str, Any]) -> Secret:
    return cast(Secret, Secret.from_dict(body))


class ReleaseConflict(Exception):
    """A conditional write lost: the record exists already, or changed since it was read."""


class ReleaseStore(Protocol):
    async def list(self, namespace: str, service: str) -> list[StoredRelease]:
        """Every release record of ``service`` in ``namespace``, oldest revision first."""
        ...

    async def create(self, release: Release) -> str:
        """Write a new record; its resourceVersion. ``ReleaseConflict`` if that revision exists."""
        ...

    async def update(self, release: Release, resource_version: str) -> str:
        """Replace the record if it is still at ``resource_version``; the new one. Else ``ReleaseConflict``."""
        ...


class MemoryReleaseStore:
    """A ``ReleaseStore`` in a dict, with the same preconditions; ``writes`` records every accepted write."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        self.writes: list[tuple[str, str, str]] = []  # (verb, record name, state)
        self._rv = 0

    def _next(self) -> str:
        self._rv += 1
        return str(self._rv)

    async def list(self, namespace: str, service: str) -> list[StoredRelease]:
        found = []
        for (ns, _), (obj, rv) in self.objects.items():
            if ns == namespace and obj["metadata"]["labels"]["name"] == service:
                release, _ = decode(
                    dict(copy.deepcopy(obj), metadata=dict(obj["metadata"], resourceVersion=rv))
                )
                found.append((release, rv))
        return sorted(found, key=lambda item: item[0].version)

    async def create(self, release: Release) -> str:
        key = (release.namespace, release.name)
        if key in self.objects:
            raise ReleaseConflict(f"{release.name} exists already")
        rv = self._next()
        self.objects[key] = (encode(release), rv)
        self.writes.append(("create", release.name, str(release.state)))
        return rv

    async def update(self, release: Release, resource_version: str) -> str:
        key = (release.namespace, release.name)
        current = self.objects.get(key)
        if current is None or current[1] != resource_version:
            raise ReleaseConflict(
                f"{release.name} changed since it was read (resourceVersion {resource_version})"
            )
        rv = self._next()
        self.objects[key] = (encode(release), rv)
        self.writes.append(("update", release.name, str(release.state)))
        return rv


class KubeReleaseStore:
    """A ``ReleaseStore`` over the cluster's Secrets; ``async with KubeReleaseStore.connect(config)``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    @classmethod
    def connect(cls, config: ClientConfig) -> KubeReleaseStore:
        try:
            kube = KubeConfig.from_file(config.kubeconfig) if config.kubeconfig else KubeConfig.from_env()
            single = kube.get(context_name=config.context)
        except (ConfigError, OSError, ValueError, KeyError) as exc:
            raise ApplyError(f"cannot use {config.kubeconfig or 'the default kubeconfig'}: {exc}") from exc
        return cls(AsyncClient(single, trust_env=False, timeout=httpx2.Timeout(config.timeout_seconds)))

    async def __aenter__(self) -> KubeReleaseStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.close()

    def _unreachable(self, exc: Exception) -> ClusterUnreachableError:
        server = self._client.config.cluster.server
        return ClusterUnreachableError(f"cannot reach the cluster at {server}: {' '.join(str(exc).split())}")

    async def list(self, namespace: str, service: str) -> list[StoredRelease]:
        found = []
        try:
            async for secret in self._client.list(
                Secret, namespace=namespace, labels={"owner": "ferry", "name": service}
            ):
                obj = secret.to_dict()
                if obj.get("type") == "ferry.dev/release.v1":
                    found.append(decode(obj))
        except httpx2.TransportError as exc:
            raise self._unreachable(exc) from exc
        except ApiError as exc:
            raise ApplyError(
                f"cannot list the releases of {service} in {namespace}: {exc.status.message}"
            ) from exc
        return sorted(found, key=lambda item: item[0].version)

    async def create(self, release: Release) -> str:
        try:
            made = await self._client.create(_secret(encode(release)))
        except httpx2.TransportError as exc:
            raise self._unreachable(exc) from exc
        except ApiError as exc:
            if exc.status.code == 409:
                raise ReleaseConflict(f"{release.name} exists already") from exc
            raise ApplyError(
                f"cannot record {release.name} in {release.namespace}: {exc.status.message}"
            ) from exc
        return str(made.metadata.resourceVersion if made.metadata else "")

    async def update(self, release: Release, resource_version: str) -> str:
        try:
            made = await self._client.replace(_secret(encode(release, resource_version=resource_version)))
        except httpx2.TransportError as exc:
            raise self._unreachable(exc) from exc
        except ApiError as exc:
            if exc.status.code in (404, 409):
                raise ReleaseConflict(
                    f"{release.name} changed since it was read: {exc.status.message}"
                ) from exc
            raise ApplyError(
                f"cannot update {release.name} in {release.namespace}: {exc.status.message}"
            ) from exc
        return str(made.metadata.resourceVersion if made.metadata else "")
