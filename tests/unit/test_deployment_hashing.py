"""pod-template-hash: kube's alphabet, collision count, determinism; template equality ignoring the hash."""

from __future__ import annotations

import copy
import re
import struct
from typing import Any

from ferry.cluster.controllers.deployment.hashing import (
    ALPHABET,
    canonical_bytes,
    compute_hash,
    equal_ignore_hash,
    fnv1a_32,
    safe_encode,
)
from tests.unit.deployment_world import make_deployment


def template() -> dict[str, Any]:
    return copy.deepcopy(make_deployment()["spec"]["template"])


def test_fnv1a_32_matches_the_published_test_vectors() -> None:
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968


def test_digits_map_through_kubes_alphabet() -> None:
    assert ALPHABET == "bcdfghjklmnpqrstvwxz2456789"
    assert safe_encode("0123456789") == "456789bcdf"


def test_hash_is_the_encoded_decimal_fnv_of_the_canonical_json() -> None:
    t = template()
    assert compute_hash(t, None) == safe_encode(str(fnv1a_32(canonical_bytes(t))))
    assert re.fullmatch(r"[456789bcdf]{1,10}", compute_hash(t, None))


def test_collision_count_appends_eight_little_endian_bytes() -> None:
    t = template()
    expected = fnv1a_32(canonical_bytes(t) + struct.pack("<I", 3) + b"\0\0\0\0")
    assert compute_hash(t, 3) == safe_encode(str(expected))
    assert len({compute_hash(t, None), compute_hash(t, 0), compute_hash(t, 1)}) == 3


def test_hash_is_deterministic_and_ignores_key_order_and_empty_fields() -> None:
    t1 = template()
    t2 = {"spec": t1["spec"], "metadata": {**t1["metadata"], "annotations": {}}}
    assert compute_hash(t1, None) == compute_hash(t2, None)


def test_any_template_change_changes_the_hash() -> None:
    t1, t2 = template(), template()
    t2["spec"]["containers"][0]["image"] = "nginx:2"
    assert compute_hash(t1, None) != compute_hash(t2, None)


def test_equal_ignore_hash_ignores_only_the_pod_template_hash_label() -> None:
    t1, t2 = template(), template()
    t2["metadata"]["labels"]["pod-template-hash"] = "abc"
    assert equal_ignore_hash(t1, t2)
    t2["metadata"]["labels"]["tier"] = "web"
    assert not equal_ignore_hash(t1, t2)


def test_a_restarted_at_annotation_makes_the_template_different() -> None:
    t1, t2 = template(), template()
    t2["metadata"]["annotations"] = {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
    assert not equal_ignore_hash(t1, t2)


def test_semantic_equality_nil_equals_empty_and_quantities_compare_by_value() -> None:
    t1, t2 = template(), template()
    t1["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    t2["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1000m", "memory": "1024Mi"}}
    t2["spec"]["volumes"] = []
    t2["metadata"]["annotations"] = {}
    assert equal_ignore_hash(t1, t2)
    t2["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "1001m"
    assert not equal_ignore_hash(t1, t2)
