"""Release records: the Secret encoding round-trips, and the state machine allows exactly its moves."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from ferry.delivery.releases import TRANSITIONS, Release, ReleaseState, TransitionError, decode, encode

S = ReleaseState


def release(state: ReleaseState = S.PENDING, **kw: object) -> Release:
    base: dict[str, object] = {
        "service": "order-service",
        "env": "sit",
        "namespace": "shop-sit",
        "version": 3,
        "state": state,
        "tag": "1.4.2-a8f3d21",
        "digest": "sha256:" + "ab" * 32,
        "repository": "127.0.0.1:5000/order-service",
        "manifest": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
        ],
        "who": "alice@laptop",
        "lease_holder": "laptop:42:abcd",
        "lease_renewed": "2026-11-27T05:00:00Z",
        "set_values": ("replicaCount=3",),
    }
    base.update(kw)
    return Release(**base)  # type: ignore[arg-type]


def test_secret_carries_helm_style_labels_and_a_gzipped_body() -> None:
    secret = encode(release(S.DEPLOYING), resource_version="17")
    meta = secret["metadata"]
    assert meta["name"] == "ferry.release.order-service.v3" and meta["namespace"] == "shop-sit"
    assert meta["labels"] == {
        "owner": "ferry",
        "name": "order-service",
        "version": "3",
        "status": "deploying",
        "ferry.dev/env": "sit",
    }
    assert meta["resourceVersion"] == "17"
    assert meta["annotations"]["ferry.dev/lease-holder"] == "laptop:42:abcd"
    body = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(secret["data"]["release"]))))
    assert body["manifest"][0]["data"] == {"k": "v"} and body["tag"] == "1.4.2-a8f3d21"


def test_decode_is_the_inverse_of_encode() -> None:
    original = release(S.ROLLING_BACK, rolled_back_to=2, reason="pods not ready")
    secret = encode(original)
    secret["metadata"]["resourceVersion"] = "99"
    decoded, rv = decode(secret)
    assert decoded == original and rv == "99"


def test_decode_refuses_a_secret_that_is_not_a_release() -> None:
    with pytest.raises(ValueError, match="Secret x: not a ferry release record"):
        decode({"metadata": {"name": "x", "labels": {"owner": "ferry"}}, "data": {"release": "bm9wZQ=="}})


ALL_MOVES = [(old, new) for old in S for new in S]


@pytest.mark.parametrize(("old", "new"), ALL_MOVES, ids=[f"{o}->{n}" for o, n in ALL_MOVES])
def test_each_transition_is_allowed_or_refused_by_the_table(old: ReleaseState, new: ReleaseState) -> None:
    allowed = {
        (S.PENDING, S.DEPLOYING),
        (S.PENDING, S.FAILED),
        (S.DEPLOYING, S.DEPLOYED),
        (S.DEPLOYING, S.FAILED),
        (S.DEPLOYED, S.SUPERSEDED),
        (S.FAILED, S.ROLLING_BACK),
        (S.ROLLING_BACK, S.ROLLED_BACK),
        (S.ROLLING_BACK, S.FAILED),
    }
    assert (new in TRANSITIONS[old]) == ((old, new) in allowed)
    if (old, new) in allowed:
        assert release(old).moved(new, reason="r").state is new
    else:
        with pytest.raises(TransitionError, match=f"from {old} to {new}"):
            release(old).moved(new)
