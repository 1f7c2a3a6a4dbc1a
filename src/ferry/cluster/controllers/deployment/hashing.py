"""Pod-template identity: the ``pod-template-hash`` and template equality ignoring that label.

**The hash** names the new ReplicaSet (``<deployment>-<hash>``) and labels its pods. kube computes
FNV-1a 32-bit over a spew dump of the Go struct; a Python port cannot reproduce that dump, so we
hash the canonical JSON (sorted keys, no spaces, UTF-8) of the *semantically normalised* template:
empty maps/lists/strings and nulls dropped, quantities reduced to their value. Two templates kube
calls equal therefore get the same name, which keeps creation idempotent across restarts (a
re-created sync finds its own earlier ReplicaSet through AlreadyExists). What is kept from kube
exactly: the collision count is appended as 8 bytes (uint32 little-endian, then 4 zero bytes) when
``status.collisionCount`` is set, and the decimal string of the 32-bit sum is mapped through the
27-letter alphabet ``bcdfghjklmnpqrstvwxz2456789`` (``rand.SafeEncodeString``), so digits become
``4 5 6 7 8 9 b c d f`` and a hash looks like ``7854ff8877``.

**Equality** (``EqualIgnoreHash``) is what decides which ReplicaSet is "new": the templates are
compared after removing ``pod-template-hash`` from both label sets, with kube's *semantic* deep
equality: nil and empty collections are equal, resource quantities compare by value (``1000m`` ==
``1``). Only that label is ignored; any other difference (a ``restartedAt`` annotation) means a new
ReplicaSet.
"""

from __future__ import annotations

import copy
import json
import struct
from fractions import Fraction
from typing import Any

from ferry.cluster.apiserver.objects import normalized
from ferry.cluster.controllers.deployment.accessors import HASH_LABEL
from ferry.cluster.resources.quantity import QuantityError, parse_quantity

ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a_32(data: bytes, state: int = _FNV_OFFSET) -> int:
    """FNV-1a, 32 bits (Go's ``hash/fnv.New32a``); pass ``state`` to continue a running hash."""
    h = state
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: each character c becomes ``ALPHABET[ord(c) % 27]``."""
    return "".join(ALPHABET[ord(c) % len(ALPHABET)] for c in text)


def _quantity_value(raw: Any) -> Any:
    try:
        value = parse_quantity(raw).value
    except (QuantityError, TypeError, ValueError):
        return raw
    return str(value) if isinstance(value, Fraction) else raw


def _resource_lists(container: Any) -> None:
    if not isinstance(container, dict):
        return
    resources = container.get("resources")
    if not isinstance(resources, dict):
        return
    for key in ("limits", "requests"):
        rl = resources.get(key)
        if isinstance(rl, dict):
            resources[key] = {k: _quantity_value(v) for k, v in rl.items()}


def semantic_template(template: Any) -> Any:
    """The template as kube's semantic equality sees it: empties dropped, quantities by value."""
    out = copy.deepcopy(template) if isinstance(template, dict) else {}
    pod_spec = out.get("spec")
    if isinstance(pod_spec, dict):
        for key in ("containers", "initContainers", "ephemeralContainers"):
            for container in pod_spec.get(key) or []:
                _resource_lists(container)
        _resource_lists(pod_spec)  # pod-level spec.resources
        overhead = pod_spec.get("overhead")
        if isinstance(overhead, dict):
            pod_spec["overhead"] = {k: _quantity_value(v) for k, v in overhead.items()}
        for volume in pod_spec.get("volumes") or []:
            empty_dir = volume.get("emptyDir") if isinstance(volume, dict) else None
            if isinstance(empty_dir, dict) and "sizeLimit" in empty_dir:
                empty_dir["sizeLimit"] = _quantity_value(empty_dir["sizeLimit"])
    return normalized(out)


def _without_hash_label(template: Any) -> Any:
    t = copy.deepcopy(template) if isinstance(template, dict) else {}
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return t


def equal_ignore_hash(t1: Any, t2: Any) -> bool:
    """``EqualIgnoreHash``: semantic equality of two pod templates, ignoring ``pod-template-hash``."""
    return bool(semantic_template(_without_hash_label(t1)) == semantic_template(_without_hash_label(t2)))


def canonical_bytes(template: Any) -> bytes:
    """The bytes that are hashed: canonical JSON of the semantically normalised template."""
    text = json.dumps(semantic_template(template), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def compute_hash(template: Any, collision_count: int | None) -> str:
    """``controller.ComputeHash``: the ``pod-template-hash`` value for a template and collision count."""
    h = fnv1a_32(canonical_bytes(template))
    if collision_count is not None:
        h = fnv1a_32(struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\x00\x00\x00\x00", h)
    return safe_encode(str(h))
