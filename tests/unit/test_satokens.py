"""Bound service-account tokens: minted by the kubelet's ``PodTokens``, authenticated by the API server."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, cast

import pytest

from ferry.cluster.apiserver.auth import ADMIN, TokenAuthenticator
from ferry.cluster.apiserver.satokens import (
    ISSUER,
    ServiceAccountTokens,
    TokenError,
    decode,
    ensure_signing_key,
    mint,
)
from ferry.cluster.kubelet.process.tokens import PodTokens
from ferry.cluster.kubelet.process.volumes import VolumeError, prepare_volumes
from ferry.cluster.store import Store

KEY = b"k" * 32
SA: dict[str, Any] = {"metadata": {"name": "robot", "namespace": "shop", "uid": "sa-uid"}}
POD: dict[str, Any] = {
    "metadata": {"name": "web-1", "namespace": "shop", "uid": "pod-uid"},
    "spec": {"serviceAccountName": "robot", "containers": [{"name": "c"}]},
}


class _Entry:
    def __init__(self, obj: dict[str, Any]) -> None:
        self._obj = obj

    def obj(self) -> dict[str, Any]:
        return self._obj


class FakeStore:
    def __init__(self, **objects: dict[str, Any]) -> None:
        self.objects = dict(objects)

    def get(self, key: str) -> _Entry | None:
        obj = self.objects.get(key)
        return None if obj is None else _Entry(obj)


def verifier(**objects: dict[str, Any]) -> tuple[ServiceAccountTokens, FakeStore]:
    store = FakeStore(**objects)
    return ServiceAccountTokens(KEY, cast(Store, store)), store


def live() -> dict[str, dict[str, Any]]:
    return {"/core/serviceaccounts/shop/robot": SA, "/core/pods/shop/web-1": POD}


def token(**kw: Any) -> str:
    args: dict[str, Any] = {
        "namespace": "shop",
        "service_account": ("robot", "sa-uid"),
        "pod": ("web-1", "pod-uid"),
    }
    return mint(KEY, **(args | kw))[0]


def claims_of(tok: str) -> dict[str, Any]:
    part = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


def test_a_bound_token_authenticates_as_its_service_account_with_kubes_groups() -> None:
    v, _ = verifier(**live())
    user = v.authenticate(token())
    assert user is not None
    assert user.name == "system:serviceaccount:shop:robot"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated")
    assert user.uid == "sa-uid"
    c = claims_of(token())
    assert c["iss"] == ISSUER and c["aud"] == [ISSUER] and c["sub"] == "system:serviceaccount:shop:robot"
    assert c["kubernetes.io"]["pod"] == {"name": "web-1", "uid": "pod-uid"}
    assert c["exp"] - c["iat"] == 3600


def test_the_token_dies_with_its_pod_or_service_account() -> None:
    v, store = verifier(**live())
    tok = token()
    store.objects["/core/pods/shop/web-1"] = {"metadata": POD["metadata"] | {"uid": "another-pod"}}
    assert v.authenticate(tok) is None  # a pod of the same name, re-created
    del store.objects["/core/pods/shop/web-1"]
    assert v.authenticate(tok) is None
    store.objects.update(live())
    store.objects["/core/pods/shop/web-1"] = {"metadata": POD["metadata"] | {"deletionTimestamp": "x"}}
    assert v.authenticate(tok) is None  # being deleted
    store.objects.update(live())
    del store.objects["/core/serviceaccounts/shop/robot"]
    assert v.authenticate(tok) is None


def test_expired_foreign_tampered_or_other_audience_tokens_are_refused() -> None:
    v, _ = verifier(**live())
    assert v.authenticate(token(now=1_000_000.0)) is None  # expired long ago
    assert v.authenticate(token(audiences=["vault"])) is None  # not for the API server
    assert (
        v.authenticate(
            mint(b"x" * 32, namespace="shop", service_account=("robot", "sa-uid"), pod=("web-1", "pod-uid"))[
                0
            ]
        )
        is None
    )
    head, _body, sig = token().split(".")
    forged = json.dumps(claims_of(token()) | {"sub": "system:serviceaccount:shop:admin"}).encode()
    forged_body = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    assert v.authenticate(f"{head}.{forged_body}.{sig}") is None
    assert v.authenticate("not-a-jwt") is None
    with pytest.raises(TokenError, match="expired"):
        decode(KEY, token(now=1_000_000.0))


def test_the_authenticator_tries_static_tokens_then_the_verifiers() -> None:
    v, _ = verifier(**live())
    auth = TokenAuthenticator({"admin-token": ADMIN}, verifiers=[v.authenticate])
    assert auth.authenticate("Bearer admin-token") is ADMIN
    user = auth.authenticate(f"Bearer {token()}")
    assert user is not None and user.name == "system:serviceaccount:shop:robot"
    assert auth.authenticate("Bearer nope") is None


def test_the_signing_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    key = ensure_signing_key(tmp_path)
    assert len(key) == 32 and ensure_signing_key(tmp_path) == key
    assert (tmp_path / "service-account-signing.key").stat().st_mode & 0o777 == 0o600


async def test_pod_tokens_are_cached_and_renewed_at_80_percent_of_their_lifetime(tmp_path: Path) -> None:
    key = ensure_signing_key(tmp_path)
    now = [1_000_000.0]
    lookups: list[tuple[str, str, str]] = []

    async def lookup(resource: str, ns: str, name: str) -> dict[str, Any] | None:
        lookups.append((resource, ns, name))
        return SA if name == "robot" else None

    tokens = PodTokens(tmp_path, lookup, clock=lambda: now[0])
    first = await tokens.token(POD, {"expirationSeconds": 1000, "path": "token"})
    c = decode(key, first, now=now[0])
    assert c["exp"] == 1_001_000 and c["kubernetes.io"]["serviceaccount"] == {
        "name": "robot",
        "uid": "sa-uid",
    }
    now[0] += 799
    assert await tokens.token(POD, {"expirationSeconds": 1000}) == first
    now[0] += 2
    renewed = await tokens.token(POD, {"expirationSeconds": 1000})
    assert renewed != first and decode(key, renewed, now=now[0])["iat"] == 1_000_801
    assert lookups == [("v1/serviceaccounts", "shop", "robot")] * 2
    short = await tokens.token(POD, {"expirationSeconds": 60, "audience": "vault"})
    c = claims_of(short)
    assert c["aud"] == ["vault"] and c["exp"] - c["iat"] == 600  # kube's minimum
    with pytest.raises(TokenError, match='serviceaccounts "ghost" not found'):
        await tokens.token(POD | {"spec": {"serviceAccountName": "ghost"}}, {})


async def test_kube_api_access_volume_gets_token_ca_and_namespace(tmp_path: Path) -> None:
    key = ensure_signing_key(tmp_path / "pki")

    async def lookup(resource: str, ns: str, name: str) -> dict[str, Any] | None:
        if resource == "v1/serviceaccounts":
            return SA if name == "robot" else None
        if resource == "v1/configmaps" and name == "kube-root-ca.crt":
            return {"data": {"ca.crt": "PEM"}}
        return None

    volume = {  # what kube's ServiceAccount admission adds to every pod
        "name": "kube-api-access-x1y2z",
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
        },
    }
    pod = POD | {"spec": POD["spec"] | {"volumes": [volume]}}
    tokens = PodTokens(tmp_path / "pki", lookup)
    vols = await prepare_volumes(pod, tmp_path / "pod", lookup, tokens=tokens)
    d = vols["kube-api-access-x1y2z"]
    assert (d / "ca.crt").read_text() == "PEM" and (d / "namespace").read_text() == "shop"
    assert decode(key, (d / "token").read_text())["sub"] == "system:serviceaccount:shop:robot"
    assert (d / "token").stat().st_mode & 0o777 == 0o644
    no_sa = pod | {"spec": pod["spec"] | {"serviceAccountName": "ghost"}}
    with pytest.raises(VolumeError, match='serviceaccounts "ghost" not found'):
        await prepare_volumes(no_sa, tmp_path / "pod2", lookup, tokens=tokens)
