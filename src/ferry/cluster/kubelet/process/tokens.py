"""The kubelet's service-account tokens for ``serviceAccountToken`` projections (kube's token manager).

For each projection the kubelet writes a bound token (:func:`ferry.cluster.apiserver.satokens.mint`) for the
pod's ``spec.serviceAccountName`` (``default`` when unset) and the pod itself, with the projection's
``audience`` (default: the API server's) and ``expirationSeconds`` (default 3600; kube refuses less than 600).
As kube's ``pkg/kubelet/token`` manager does, a token is cached per (pod uid, service account, audience,
lifetime) and renewed once **80 % of its lifetime** has passed, so the file a pod reads is always current:
the volume is rewritten on every pod sync (at most 10 s apart).

ferry mints the token in the kubelet with the cluster's signing key (``<data dir>/pki``) instead of calling the
TokenRequest API; see :mod:`ferry.cluster.apiserver.satokens` for why and what else differs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ferry.cluster.apiserver.satokens import TokenError, mint, read_signing_key
from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.kubelet.process.envs import Lookup

DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600
REFRESH_FRACTION = 0.8


@dataclass
class PodTokens:
    """Mints and caches the bound tokens of the pods on this node."""

    pki_dir: Path
    lookup: Lookup
    clock: Callable[[], float] = time.time
    _key: bytes | None = None
    _cache: dict[tuple[str, str, str, int], tuple[str, float, float]] = field(default_factory=dict)

    def _signing_key(self) -> bytes:
        if self._key is None:
            try:
                self._key = read_signing_key(self.pki_dir)
            except OSError as e:
                raise TokenError(f"no service-account signing key in {self.pki_dir}: {e}") from None
        return self._key

    async def token(self, pod: Obj, projection: Obj) -> str:
        """The current token for ``projection`` (a ``serviceAccountToken`` source) of ``pod``."""
        meta = pod["metadata"]
        ns, uid = str(meta.get("namespace") or "default"), str(meta.get("uid") or "")
        sa_name = str((pod.get("spec") or {}).get("serviceAccountName") or "default")
        audience = str(projection.get("audience") or "")
        ttl = max(
            int(projection.get("expirationSeconds") or DEFAULT_EXPIRATION_SECONDS), MIN_EXPIRATION_SECONDS
        )
        now = self.clock()
        self._cache = {k: v for k, v in self._cache.items() if v[2] > now}  # drop expired (gone pods')
        key = (uid, sa_name, audience, ttl)
        cached = self._cache.get(key)
        if cached is not None and now < cached[1] + REFRESH_FRACTION * (cached[2] - cached[1]):
            return cached[0]
        sa = await self.lookup("v1/serviceaccounts", ns, sa_name)
        if sa is None:
            raise TokenError(f'serviceaccounts "{sa_name}" not found')
        token, exp = mint(
            self._signing_key(),
            namespace=ns,
            service_account=(sa_name, str(sa["metadata"].get("uid") or "")),
            pod=(str(meta.get("name")), uid),
            audiences=[audience] if audience else None,
            expiration_seconds=ttl,
            now=now,
        )
        self._cache[key] = (token, now, float(exp))
        return token
