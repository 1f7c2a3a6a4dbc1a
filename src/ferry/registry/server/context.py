"""What every handler shares: settings, storage, upload sessions, per-repository write locks.

Writes that read-then-write (a tag push checks the tag's current digest, then moves nothing or sets it)
run under the repository's asyncio lock, so two concurrent pushes of one tag cannot both pass the
immutability check. One registry process owns a data directory (`runner` holds a file lock on it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from ferry.registry.oci import InvalidDigest, parse_digest, valid_repository
from ferry.registry.server.errors import digest_invalid, name_invalid
from ferry.registry.server.policy import RegistrySettings
from ferry.registry.server.storage import Storage
from ferry.registry.server.uploads import Uploads

__all__ = ["CTX_KEY", "Context", "absolute", "checked_digest", "checked_name"]


@dataclass
class Context:
    settings: RegistrySettings
    storage: Storage
    uploads: Uploads
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def repo_lock(self, name: str) -> asyncio.Lock:
        return self.locks.setdefault(name, asyncio.Lock())


CTX_KEY = web.AppKey("ferry_registry", Context)


def checked_name(name: str) -> str:
    if not valid_repository(name):
        raise name_invalid(name)
    return name


def checked_digest(digest: str) -> str:
    try:
        parse_digest(digest)
    except InvalidDigest as exc:
        raise digest_invalid(str(exc)) from None
    return digest


def absolute(request: web.Request, path: str) -> str:
    """An absolute URL on this registry, as Distribution puts in Location headers."""
    return f"{request.scheme}://{request.host}{path}"
