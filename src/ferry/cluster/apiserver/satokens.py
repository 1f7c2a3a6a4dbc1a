"""Service-account tokens: bound JWTs for pods, minted by the kubelet and authenticated by the API server.

Kubernetes gives each pod a *bound* service-account token (``serviceAccountToken`` projection, KEP-1205): a
JWT whose claims name the service account and the pod it is bound to, with an audience and an expiry. The
API server authenticates it as ``system:serviceaccount:<ns>:<name>`` (groups ``system:serviceaccounts``,
``system:serviceaccounts:<ns>``, ``system:authenticated``) only while the pod and the service account still
exist with the uids the token names (``pkg/serviceaccount/claims.go``).

ferry keeps that shape: the claims are kube's (``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``nbf``, ``jti``
and ``kubernetes.io: {namespace, pod, serviceaccount, node}``), and :class:`ServiceAccountTokens` checks
signature, issuer, audience, time and the bound objects against the store on every request.

Where ferry differs (documented in docs/runtime.md):

* **HS256 with a shared key**, ``<data dir>/pki/service-account-signing.key`` (0600), instead of RS256/ES256
  with a private key only the API server holds. The kubelet reads the same key and mints the tokens itself,
  instead of asking the ``serviceaccounts/<name>/token`` (TokenRequest) subresource, which ferry does not
  serve yet. On one machine the kubelet already reads the cluster CA's key from the same directory, so this
  adds no new trust; a multi-node ferry would need TokenRequest.
* No OIDC discovery (``/.well-known/openid-configuration``, JWKS): with a symmetric key there is nothing to
  publish. Legacy (secret-based) tokens are not accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.cluster.apiserver.auth import UserInfo
from ferry.cluster.store import Store

__all__ = [
    "ISSUER",
    "SIGNING_KEY_FILE",
    "ServiceAccountTokens",
    "TokenError",
    "ensure_signing_key",
    "mint",
    "read_signing_key",
    "service_account_user",
]

ISSUER = "https://kubernetes.default.svc.cluster.local"  # kubeadm's --service-account-issuer
API_AUDIENCES = (ISSUER,)  # kube-apiserver's --api-audiences default: the issuer
SIGNING_KEY_FILE = "service-account-signing.key"
# Clock skew allowed on exp and nbf: go-jose's DefaultLeeway, which kube's validation uses.
LEEWAY_SECONDS = 60


class TokenError(Exception):
    """A token that is not a valid, current service-account token of this cluster."""


def ensure_signing_key(pki_dir: Path) -> bytes:
    """The cluster's signing key, created (32 random bytes, mode 0600) on first use, race-free."""
    path = pki_dir / SIGNING_KEY_FILE
    pki_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_signing_key(pki_dir)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return read_signing_key(pki_dir)


def read_signing_key(pki_dir: Path) -> bytes:
    text = (pki_dir / SIGNING_KEY_FILE).read_text().strip()
    if not text:
        raise TokenError(f"{pki_dir / SIGNING_KEY_FILE} is empty")
    return bytes.fromhex(text)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _kid(key: bytes) -> str:
    return _b64(hashlib.sha256(b"ferry-sa-kid" + key).digest()[:16])


def mint(
    key: bytes,
    *,
    namespace: str,
    service_account: tuple[str, str],
    pod: tuple[str, str],
    node: tuple[str, str] | None = None,
    audiences: list[str] | None = None,
    expiration_seconds: int = 3600,
    now: float | None = None,
) -> tuple[str, int]:
    """A bound token for ``service_account`` (name, uid) and ``pod`` (name, uid); returns it and its ``exp``."""
    iat = int(now if now is not None else time.time())
    exp = iat + int(expiration_seconds)
    bound: dict[str, Any] = {
        "namespace": namespace,
        "pod": {"name": pod[0], "uid": pod[1]},
        "serviceaccount": {"name": service_account[0], "uid": service_account[1]},
    }
    if node is not None:
        bound["node"] = {"name": node[0], "uid": node[1]}
    claims = {
        "aud": list(audiences or API_AUDIENCES),
        "exp": exp,
        "iat": iat,
        "iss": ISSUER,
        "jti": str(uuid.uuid4()),
        "kubernetes.io": bound,
        "nbf": iat,
        "sub": f"system:serviceaccount:{namespace}:{service_account[0]}",
    }
    header = {"alg": "HS256", "kid": _kid(key)}
    signing_input = f"{_b64(json.dumps(header, separators=(',', ':')).encode())}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}", exp


def service_account_user(namespace: str, name: str, uid: str = "") -> UserInfo:
    """The identity kube gives a service account's token."""
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")
    return UserInfo(f"system:serviceaccount:{namespace}:{name}", groups, uid)


def decode(key: bytes, token: str, *, now: float | None = None) -> dict[str, Any]:
    """The claims of a token signed with ``key`` for this API server, current at ``now``; else TokenError."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("not a JWT")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except ValueError:
        raise TokenError("malformed JWT") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise TokenError("unexpected JWT header or claims")
    expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise TokenError("invalid signature")
    if claims.get("iss") != ISSUER:
        raise TokenError("unknown issuer")
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if not set(auds) & set(API_AUDIENCES):
        raise TokenError("token audiences is invalid")
    t = now if now is not None else time.time()
    if not isinstance(claims.get("exp"), int) or t - LEEWAY_SECONDS > claims["exp"]:
        raise TokenError("token has expired")
    if isinstance(claims.get("nbf"), int) and t + LEEWAY_SECONDS < claims["nbf"]:
        raise TokenError("token used before issued")
    return claims


@dataclass
class ServiceAccountTokens:
    """The API server's verifier: a token's user while its pod and service account exist with its uids."""

    key: bytes
    store: Store

    def _uid(self, key: str) -> str | None:
        entry = self.store.get(key)
        if entry is None:
            return None
        meta = entry.obj().get("metadata") or {}
        return str(meta.get("uid") or "") if not meta.get("deletionTimestamp") else None

    def authenticate(self, token: str) -> UserInfo | None:
        if token.count(".") != 2:
            return None
        try:
            claims = decode(self.key, token)
        except TokenError:
            return None
        bound = claims.get("kubernetes.io")
        if not isinstance(bound, dict):
            return None
        ns = str(bound.get("namespace") or "")
        sa = bound.get("serviceaccount") or {}
        pod = bound.get("pod") or {}
        if not ns or claims.get("sub") != f"system:serviceaccount:{ns}:{sa.get('name')}":
            return None
        if self._uid(f"/core/serviceaccounts/{ns}/{sa.get('name')}") != sa.get("uid"):
            return None  # the service account was deleted (or re-created): the token is invalid
        if pod and self._uid(f"/core/pods/{ns}/{pod.get('name')}") != pod.get("uid"):
            return None  # the pod it is bound to is gone
        return service_account_user(ns, str(sa.get("name")), str(sa.get("uid") or ""))
