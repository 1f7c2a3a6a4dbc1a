"""Defaulting, per kind: what kube-apiserver v1.32 fills in on every write.

Each module owns an area and exposes ``DEFAULTERS`` keyed by ``(group, kind)``; this package merges them.
"""

from __future__ import annotations

from ferry.cluster.resources.defaults import core, pods, workloads
from ferry.cluster.resources.types import Defaulter

DEFAULTERS: dict[tuple[str, str], Defaulter] = {**pods.DEFAULTERS, **workloads.DEFAULTERS, **core.DEFAULTERS}

__all__ = ["DEFAULTERS"]
