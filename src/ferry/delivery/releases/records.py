"""A release record: one revision of one app (a service in an environment), and its state machine.

Each ``ferry deploy`` or ``ferry rollback`` of ``order-service`` in ``sit`` creates revision N+1, stored in the
cluster as one Secret ``ferry.release.order-service.v<N>`` in the environment's namespace (Helm's layout, and
for Helm's reason: the manifest may quote Secret values). Its labels make it listable without reading bodies::

    owner=ferry  name=<service>  version=<N>  status=<state>  ferry.dev/env=<env>

and ``data.release`` holds the body: JSON, gzipped, base64 (the API's encoding of Secret data) — the rendered
manifest (the exact objects applied, so a rollback re-applies them without the chart or the config repo), the
pin, the manifest digest, who and when, the reason of the outcome, and what it rolled back to.

States and the only moves allowed (``TRANSITIONS``)::

    pending ──► deploying ──► deployed ──► superseded          (a later release became deployed)
       │            │
       └────────────┴──► failed ──► rolling-back ──► rolled-back

``pending``: written before anything is applied. ``deploying``: the apply has started. ``failed``: it did not
become healthy (or the process died: see ``machine.recover``). ``rolling-back``: the previous deployed
revision's manifest is being re-applied; ``rolled-back``: done, and ``rolled_back_to`` names it.
``deployed`` is held by at most one revision of an app at a time: when a new one gets there, the old one is
moved to ``superseded``. The lease fields (``lease_holder``, ``lease_renewed``) are annotations, see
``lease.py``.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

__all__ = [
    "ACTIVE",
    "TRANSITIONS",
    "Release",
    "ReleaseState",
    "TransitionError",
    "check_transition",
    "decode",
    "encode",
    "record_name",
]

RELEASE_TYPE = "ferry.dev/release.v1"
DATA_KEY = "release"
ENV_LABEL = "ferry.dev/env"
HOLDER_ANNOTATION = "ferry.dev/lease-holder"
RENEWED_ANNOTATION = "ferry.dev/lease-renewed"


class ReleaseState(StrEnum):
    PENDING = "pending"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"
    ROLLING_BACK = "rolling-back"
    ROLLED_BACK = "rolled-back"
    SUPERSEDED = "superseded"


S = ReleaseState
TRANSITIONS: dict[ReleaseState, frozenset[ReleaseState]] = {
    S.PENDING: frozenset({S.DEPLOYING, S.FAILED}),
    S.DEPLOYING: frozenset({S.DEPLOYED, S.FAILED}),
    S.DEPLOYED: frozenset({S.SUPERSEDED}),
    S.FAILED: frozenset({S.ROLLING_BACK}),
    S.ROLLING_BACK: frozenset({S.ROLLED_BACK, S.FAILED}),
    S.ROLLED_BACK: frozenset(),
    S.SUPERSEDED: frozenset(),
}
ACTIVE = frozenset({S.PENDING, S.DEPLOYING, S.ROLLING_BACK})
"""States a live ferry process holds a lease on; left in one by a dead process, a release is recovered."""


class TransitionError(Exception):
    """A move the state machine does not allow (a bug, or a record edited by hand)."""


def check_transition(old: ReleaseState, new: ReleaseState) -> None:
    if new not in TRANSITIONS[old]:
        raise TransitionError(f"a release cannot go from {old} to {new}")


def record_name(service: str, version: int) -> str:
    return f"ferry.release.{service}.v{version}"


@dataclass(frozen=True)
class Release:
    """One revision. Times are RFC 3339 UTC strings; ``manifest`` is the list of objects applied."""

    service: str
    env: str
    namespace: str
    version: int
    state: ReleaseState
    tag: str
    digest: str
    repository: str
    manifest: list[dict[str, Any]] = field(default_factory=list)
    manifest_digest: str = ""
    set_values: tuple[str, ...] = ()
    config_revision: str | None = None
    created_at: str = ""
    updated_at: str = ""
    who: str = ""
    reason: str = ""  # why it failed / what it did, one line
    kind: str = "deploy"  # or "rollback" (a revision that re-applies revision ``source_version``)
    source_version: int | None = None
    rolled_back_to: int | None = None
    lease_holder: str = ""
    lease_renewed: str = ""

    @property
    def name(self) -> str:
        return record_name(self.service, self.version)

    def moved(self, state: ReleaseState, **changes: Any) -> Release:
        """This release in ``state`` (checked against ``TRANSITIONS``) with ``changes`` applied."""
        check_transition(self.state, state)
        return replace(self, state=state, **changes)


def _body(release: Release) -> dict[str, Any]:
    body = asdict(release)
    for key in ("lease_holder", "lease_renewed", "state", "service", "version", "namespace"):
        body.pop(key)  # kept in labels/annotations/metadata: one place for each fact
    body["set_values"] = list(release.set_values)
    return body


def encode(release: Release, *, resource_version: str = "") -> dict[str, Any]:
    """The Secret for ``release`` (with ``resource_version`` as the update precondition when given)."""
    packed = gzip.compress(json.dumps(_body(release), sort_keys=True).encode(), mtime=0)
    metadata: dict[str, Any] = {
        "name": release.name,
        "namespace": release.namespace,
        "labels": {
            "owner": "ferry",
            "name": release.service,
            "version": str(release.version),
            "status": str(release.state),
            ENV_LABEL: release.env,
        },
        "annotations": {HOLDER_ANNOTATION: release.lease_holder, RENEWED_ANNOTATION: release.lease_renewed},
    }
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": RELEASE_TYPE,
        "data": {DATA_KEY: base64.b64encode(base64.b64encode(packed)).decode()},
    }


_FIELDS = frozenset(f.name for f in fields(Release))  # a newer ferry's extra body keys are ignored


def decode(secret: dict[str, Any]) -> tuple[Release, str]:
    """The release a Secret holds and the Secret's resourceVersion; ``ValueError`` if it is not one."""
    meta = secret.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    try:
        raw = base64.b64decode(base64.b64decode((secret.get("data") or {})[DATA_KEY]))
        body = json.loads(gzip.decompress(raw))
        release = Release(
            service=str(labels["name"]),
            env=str(labels.get(ENV_LABEL) or body.get("env") or ""),
            namespace=str(meta.get("namespace") or ""),
            version=int(labels["version"]),
            state=ReleaseState(labels["status"]),
            lease_holder=str(annotations.get(HOLDER_ANNOTATION) or ""),
            lease_renewed=str(annotations.get(RENEWED_ANNOTATION) or ""),
            **{k: v for k, v in body.items() if k in _FIELDS and k not in ("env", "set_values")},
            set_values=tuple(body.get("set_values") or ()),
        )
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise ValueError(f"Secret {meta.get('name')}: not a ferry release record ({exc})") from exc
    return release, str(meta.get("resourceVersion") or "")
