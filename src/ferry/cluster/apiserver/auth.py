"""Authentication and authorization seams.

Authentication: bearer tokens (``Authorization: Bearer <token>``), compared in constant time against the
tokens the server was started with (the admin token is written into the kubeconfig). A request without
credentials is anonymous: like kube-apiserver's ``system:public-info-viewer`` binding, anonymous users may
read ``/version``, ``/healthz``, ``/readyz`` and ``/livez``; everything else answers 401.

Authorization: an :class:`Authorizer` decides per request attributes. Until RBAC is served for real, the
only authorizer is :class:`AllowAuthenticated` ("an authenticated user may do anything"); the RBAC
authorizer replaces it without the handlers changing. SelfSubjectAccessReview answers through the same seam.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""


ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, as kube's authorizer.Attributes."""

    user: UserInfo
    verb: str
    namespace: str = ""
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""
    resource_request: bool = True


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


class Authorizer(Protocol):
    def authorize(self, attrs: Attributes) -> Decision: ...


PUBLIC_PATHS = frozenset({"/version", "/healthz", "/readyz", "/livez", "/version/"})


@dataclass
class TokenAuthenticator:
    """Maps bearer tokens to users: the static ones, then each verifier in turn (service-account JWTs,
    ``satokens.ServiceAccountTokens.authenticate``: None means "not mine, or not valid")."""

    tokens: dict[str, UserInfo] = field(default_factory=dict)
    verifiers: list[Callable[[str], UserInfo | None]] = field(default_factory=list)

    def authenticate(self, authorization: str | None) -> UserInfo | None:
        """The user for an ``Authorization`` header, ANONYMOUS when absent, None when the token is wrong."""
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        token = token.strip()
        for known, user in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return user
        for verify in self.verifiers:
            if (found := verify(token)) is not None:
                return found
        return None


class AllowAuthenticated:
    """Every authenticated user may do everything; anonymous users only the public paths."""

    def authorize(self, attrs: Attributes) -> Decision:
        if attrs.user is ANONYMOUS or "system:unauthenticated" in attrs.user.groups:
            return Decision(not attrs.resource_request and attrs.path in PUBLIC_PATHS)
        return Decision(True, "authenticated")


ADMIN = UserInfo("ferry-admin", ("system:masters", "system:authenticated"))
