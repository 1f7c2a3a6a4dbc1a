"""The embedded OCI registry: the distribution spec v1.1 over aiohttp, content-addressed storage on disk.

Modules, one concept each:

- `policy`      settings, per-repository tag policy (immutable tags, `latest` refused)
- `paths`       the `/v2/<name>/...` URL space
- `app`         the aiohttp application: dispatch, error and auth middlewares
- `blobs`       blob HEAD/GET/DELETE and uploads (monolithic, chunked, cross-repository mount)
- `manifests`   manifest PUT/GET/HEAD/DELETE, validation, content negotiation
- `listing`     tags list, catalog (paginated), referrers API
- `auth`        Basic and bearer-token authentication, the token endpoint
- `credentials` password forms, htpasswd files, HMAC-signed tokens
- `uploads`     upload sessions on disk
- `storage`     blobs, repository links, tags on disk
- `durable`     temp + fsync + rename + directory fsync
- `gc`          mark-and-sweep garbage collection
- `runner`      `start_registry` in the caller's event loop, the data directory lock
"""

from __future__ import annotations

from ferry.registry.server.app import make_app
from ferry.registry.server.credentials import hash_password, load_htpasswd
from ferry.registry.server.gc import GcReport, collect_garbage
from ferry.registry.server.policy import RegistrySettings, RepositoryPolicy
from ferry.registry.server.runner import RegistryLocked, RunningRegistry, start_registry

__all__ = [
    "GcReport",
    "RegistryLocked",
    "RegistrySettings",
    "RepositoryPolicy",
    "RunningRegistry",
    "collect_garbage",
    "hash_password",
    "load_htpasswd",
    "make_app",
    "start_registry",
]
