"""Validation, per kind: 422 ``Invalid`` causes worded as Kubernetes words them.

Each module owns an area and exposes ``VALIDATORS`` keyed by ``(group, kind)`` (and, where a kind's name
rule is not the DNS-1123 subdomain one, ``NAME_VALIDATORS``); this package merges them. Object metadata
is validated generically for every kind by ``common.validate_object_meta``.
"""

from __future__ import annotations

from ferry.cluster.resources.types import Validator
from ferry.cluster.resources.validation import (
    apiextensions,
    common,
    core,
    events,
    networking,
    pods,
    rbac,
    service,
    workloads,
)

VALIDATORS: dict[tuple[str, str], Validator] = {
    **pods.VALIDATORS,
    **workloads.VALIDATORS,
    **core.VALIDATORS,
    **service.VALIDATORS,
    **events.VALIDATORS,
    **networking.VALIDATORS,
    **rbac.VALIDATORS,
    **apiextensions.VALIDATORS,
}

NAME_VALIDATORS = {**common.NAME_VALIDATORS, **core.NAME_VALIDATORS}

__all__ = ["NAME_VALIDATORS", "VALIDATORS"]
