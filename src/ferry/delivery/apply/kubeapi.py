"""The seam between the apply engine and a cluster: a small async Protocol over plain dicts.

The engine, the diff, the inventory and the health watcher speak only ``KubeApi``; ``LightkubeApi``
(``ferry.delivery.apply.lightkube_api``) implements it over lightkube with a kubeconfig, and the unit tests
implement it with an in-memory recording fake. Keeping the seam this narrow — resolve a kind, get, apply,
delete, list, watch — is what lets unit tests assert the exact list of API actions an apply makes (the
client-go "recording fake" style), while the integration tests prove the same calls against the embedded API
server.

Contract every implementation keeps:

* Objects in and out are plain ``dict`` (JSON-shaped), never typed models, so any kind — CRDs included —
  passes through untouched, and an unknown field reaches the server's ``fieldValidation=Strict``.
* ``apply`` is server-side apply with field manager ``ferry``, ``force=True`` and ``fieldValidation=Strict``;
  ``dry_run=True`` adds ``dryRun=All`` and returns what the object *would* become (defaults, admission and
  server-set fields included), which is exactly what the diff compares with the live object.
* ``delete`` uses background propagation and answers ``False`` for an object already gone (404).
* Failures raise ``ferry.delivery.apply.errors`` types: ``ClusterUnreachableError`` when nothing answered,
  ``ApiRejectedError`` subclasses for a Kubernetes ``Status`` failure, ``UnknownKindError`` from discovery.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["KubeApi", "PodLogApi", "ResourceType", "WatchEvent"]


@dataclass(frozen=True)
class ResourceType:
    """What discovery says about one kind: where it is served and whether it lives in a namespace."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


WatchEvent = tuple[str, dict[str, Any]]
"""``(type, object)`` with type ``ADDED`` | ``MODIFIED`` | ``DELETED`` (bookmarks and errors are not passed on)."""


class KubeApi(Protocol):
    """The few verbs the apply engine needs. All methods may raise ``ApplyError`` subclasses."""

    @property
    def server(self) -> str:
        """The API server URL, for messages."""
        ...

    async def resource_type(self, api_version: str, kind: str) -> ResourceType:
        """Discovery, cached; ``UnknownKindError`` when nothing serves it (after one cache refresh)."""
        ...

    def forget_discovery(self) -> None:
        """Drop the discovery cache (after CRDs were applied, new kinds appear)."""
        ...

    async def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        """The live object, or ``None`` when it does not exist."""
        ...

    async def apply(self, rt: ResourceType, obj: Mapping[str, Any], *, dry_run: bool) -> dict[str, Any]:
        """Server-side apply (manager ``ferry``, force, Strict); returns the resulting object."""
        ...

    async def delete(self, rt: ResourceType, namespace: str, name: str) -> bool:
        """Delete with background propagation; ``False`` when it was already gone."""
        ...

    async def list(
        self, rt: ResourceType, namespace: str, *, labels: Mapping[str, str] | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        """Objects (in ``namespace``, or everywhere when ``""``) and the list's resourceVersion."""
        ...

    def watch(
        self,
        rt: ResourceType,
        namespace: str,
        *,
        labels: Mapping[str, str] | None = None,
        resource_version: str = "",
    ) -> AsyncIterator[WatchEvent]:
        """Events after ``resource_version``; runs until the consumer stops iterating."""
        ...


@runtime_checkable
class PodLogApi(Protocol):
    """An optional extra verb: a container's log (``GET pods/<name>/log``), for the deploy progress.

    Kept apart from ``KubeApi`` so fakes and callers that never read logs need not implement it; callers
    check ``isinstance(api, PodLogApi)``. Raises ``ApiRejectedError`` for the server's 4xx — a container that
    has not started answers 400 ``container "c" in pod "p" is waiting to start: ...`` (kube's wording).
    """

    async def pod_log(
        self, namespace: str, name: str, *, container: str, tail_lines: int, previous: bool = False
    ) -> str:
        """The last ``tail_lines`` lines of ``container`` (``previous``: of its last terminated instance)."""
        ...
