"""Listing endpoints: tags (paginated), the catalog (paginated), and the referrers API.

Pagination follows the distribution spec: results are in lexical order; `n` limits the page, `last` starts
after the given entry, and a full page that has more after it carries
`Link: </v2/<name>/tags/list?n=<n>&last=<last entry>>; rel="next"`. `n=0` answers an empty list; a
non-numeric or negative `n` is 400 PAGINATION_NUMBER_INVALID. The catalog pages by 1000 when `n` is absent
(Distribution pages by 100); the tags list is unlimited when `n` is absent, as in Distribution.

Referrers (`GET /v2/<name>/referrers/<digest>`) answer an OCI index of the manifests whose `subject` is that
digest, each described with its `artifactType` (the manifest's, else its config media type) and its
annotations, as the spec asks. `?artifactType=` filters, and the response then says so with
`OCI-Filters-Applied: artifactType`. A subject with no referrers (or an unknown repository) gives an empty
index, never 404: clients read a 404 as "no referrers API" and fall back to the tag schema.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from aiohttp import web

from ferry.registry.oci import OCI_INDEX, Descriptor, Manifest, OciError
from ferry.registry.server.context import Context, checked_digest, checked_name
from ferry.registry.server.errors import RegistryHttpError, name_unknown
from ferry.registry.server.paths import Route

__all__ = ["handle_catalog", "handle_referrers", "handle_tags", "paginate"]

CATALOG_PAGE = 1000


def paginate(
    items: list[str], n: str | None, last: str | None, default: int | None
) -> tuple[list[str], bool]:
    """The page of sorted `items` after `last`, at most `n` long; and whether more follow it."""
    limit = default
    if n is not None:
        if not n.isdigit():
            raise RegistryHttpError(
                400, "PAGINATION_NUMBER_INVALID", f"invalid n={n!r}: must be a non-negative integer"
            )
        limit = int(n)
    if last:
        items = [i for i in items if i > last]
    if limit is None or len(items) <= limit:
        return items, False
    return items[:limit], True


def _link(path: str, n: int, last: str) -> str:
    return f'<{path}?{urlencode({"n": n, "last": last})}>; rel="next"'


def handle_tags(request: web.Request, ctx: Context, route: Route) -> web.Response:
    name = checked_name(route.name)
    if not ctx.storage.repo_exists(name):
        raise name_unknown(name)
    page, more = paginate(ctx.storage.tags(name), request.query.get("n"), request.query.get("last"), None)
    headers = {}
    if more:
        headers["Link"] = _link(f"/v2/{name}/tags/list", len(page), page[-1])
    return web.json_response({"name": name, "tags": page}, headers=headers)


def handle_catalog(request: web.Request, ctx: Context, route: Route) -> web.Response:
    page, more = paginate(
        ctx.storage.repository_names(), request.query.get("n"), request.query.get("last"), CATALOG_PAGE
    )
    headers = {}
    if more:
        headers["Link"] = _link("/v2/_catalog", len(page), page[-1])
    return web.json_response({"repositories": page}, headers=headers)


def referrer_descriptors(ctx: Context, name: str, subject: str) -> list[Descriptor]:
    out: list[Descriptor] = []
    for digest in ctx.storage.referrers(name, subject):
        found = ctx.storage.read_manifest(name, digest)
        if found is None:
            continue
        try:
            manifest = Manifest.parse(*found)
        except OciError:
            continue
        artifact_type = manifest.artifact_type or (manifest.config.media_type if manifest.config else None)
        out.append(
            Descriptor(
                media_type=manifest.media_type,
                digest=digest,
                size=len(found[0]),
                annotations=manifest.annotations or None,
                artifact_type=artifact_type,
            )
        )
    return out


def handle_referrers(request: web.Request, ctx: Context, route: Route) -> web.Response:
    name, subject = checked_name(route.name), checked_digest(route.ref)
    descriptors = referrer_descriptors(ctx, name, subject)
    headers = {}
    wanted = request.query.get("artifactType")
    if wanted:
        descriptors = [d for d in descriptors if d.artifact_type == wanted]
        headers["OCI-Filters-Applied"] = "artifactType"
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [d.to_json() for d in descriptors]}
    return web.Response(body=json.dumps(body).encode(), content_type=OCI_INDEX, headers=headers)
