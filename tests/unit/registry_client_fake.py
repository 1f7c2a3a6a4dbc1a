"""An in-process fake OCI registry for the client's unit tests, with failures on demand.

It implements just enough of the distribution spec (uploads incl. PATCH with Content-Range and status GET,
mount, manifests, tags with Link pagination, the referrers API) for the client to be exercised over real HTTP on
127.0.0.1, and it records every request so tests can assert on exactly what the client sent. Faults:

- `fail(method, fragment, status, times)`: the next matching requests answer `status` (a distribution body);
- `drop_patch_after`: the next PATCH keeps that many bytes and then drops the connection;
- `truncate_get_after`: the next blob GET sends that many bytes and then drops the connection;
- `refuse_resume`: an upload status GET cancels the session (Distribution 2.8 after a broken PATCH);
- `corrupt`: blobs served with a flipped byte;
- `auth="basic"` or `auth="bearer"` with `credentials`; `revoke_tokens()` expires every token.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_ROUTES = [
    ("uploads", re.compile(r"^/v2/(?P<repo>.+)/blobs/uploads/(?P<uuid>[^/]*)$")),
    ("blob", re.compile(r"^/v2/(?P<repo>.+)/blobs/(?P<digest>[^/]+)$")),
    ("manifest", re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$")),
    ("tags", re.compile(r"^/v2/(?P<repo>.+)/tags/list$")),
    ("referrers", re.compile(r"^/v2/(?P<repo>.+)/referrers/(?P<digest>[^/]+)$")),
]


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]})
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


@dataclass
class FakeRegistry:
    auth: str | None = None  # None, "basic" or "bearer"
    credentials: tuple[str, str] | None = None
    referrers_api: bool = True
    immutable_tags: bool = False
    blobs: dict[str, bytes] = field(default_factory=dict)
    repo_blobs: dict[str, set[str]] = field(default_factory=dict)
    manifests: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)
    uploads: dict[str, bytearray] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    corrupt: set[str] = field(default_factory=set)
    drop_patch_after: int | None = None
    truncate_get_after: int | None = None
    refuse_resume: bool = False  # like Distribution after a broken PATCH: the status GET cancels the session
    host: str = ""
    _faults: list[list[Any]] = field(default_factory=list)
    _tokens: dict[str, list[str]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    # control

    def fail(
        self, method: str, fragment: str, status: int, times: int = 1, code: str = "UNAVAILABLE"
    ) -> None:
        self._faults.append([method, fragment, status, times, code])

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def count(self, method: str, fragment: str = "") -> int:
        return sum(1 for m, p in self.requests if m == method and fragment in p)

    def add_blob(self, repo: str, data: bytes) -> str:
        d = _digest(data)
        self.blobs[d] = data
        self.repo_blobs.setdefault(repo, set()).add(d)
        return d

    # server

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/token", self._token)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests.append(
            {"query": list(request.query.items()), "auth": request.headers.get("Authorization")}
        )
        if self.credentials is not None and request.headers.get("Authorization") != self._basic_value():
            return web.Response(status=401, text="bad credentials")
        token = f"tok{next(self._ids)}"
        self._tokens[token] = request.query.getall("scope", [])
        return web.json_response({"token": token, "expires_in": 300})

    def _basic_value(self) -> str:
        assert self.credentials is not None
        return "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()

    def _challenge(self, request: web.Request, repo: str | None) -> web.Response | None:
        given = request.headers.get("Authorization", "")
        if self.auth == "basic":
            if given == self._basic_value():
                return None
            return _error(
                401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": 'Basic realm="fake"'}
            )
        if self.auth == "bearer":
            action = "pull" if request.method in ("GET", "HEAD") else "pull,push"
            token = given.removeprefix("Bearer ")
            scopes = self._tokens.get(token)
            if scopes is not None and (
                repo is None or any(s.startswith(f"repository:{repo}:") for s in scopes)
            ):
                return None
            scope = f',scope="repository:{repo}:{action}"' if repo else ""
            realm = f'Bearer realm="http://{self.host}/token",service="fake"{scope}'
            return _error(401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": realm})
        return None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests.append((request.method, request.path_qs))
        for fault in self._faults:
            method, fragment, status, times, code = fault
            if times > 0 and method == request.method and fragment in path:
                fault[3] -= 1
                await request.read()
                return _error(status, code, f"injected {status}")
        if path == "/v2/" or path == "/v2":
            return self._challenge(request, None) or web.json_response({})
        for kind, pattern in _ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            args = match.groupdict()
            denied = self._challenge(request, args["repo"])
            if denied is not None:
                return denied
            if kind == "referrers" and not self.referrers_api:
                break
            handler = getattr(self, f"_{kind}_{request.method.lower()}", None)
            if handler is None:
                return _error(405, "UNSUPPORTED", "method not allowed")
            result: web.StreamResponse = await handler(request, **args)
            return result
        return web.Response(status=404, text="404 page not found")

    # blobs

    async def _blob_head(self, request: web.Request, repo: str, digest: str) -> web.Response:
        if digest not in self.repo_blobs.get(repo, set()):
            return web.Response(status=404)
        return web.Response(
            headers={"Content-Length": str(len(self.blobs[digest])), "Docker-Content-Digest": digest}
        )

    async def _blob_get(self, request: web.Request, repo: str, digest: str) -> web.StreamResponse:
        if digest not in self.repo_blobs.get(repo, set()):
            return _error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        data = self.blobs[digest]
        if digest in self.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        status, start = 200, 0
        ranged = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if ranged:
            status, start = 206, int(ranged.group(1))
        response = web.StreamResponse(status=status, headers={"Content-Length": str(len(data) - start)})
        await response.prepare(request)
        if self.truncate_get_after is not None:
            cut, self.truncate_get_after = self.truncate_get_after, None
            await response.write(data[start : start + cut])
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(data[start:])
        return response

    async def _blob_delete(self, request: web.Request, repo: str, digest: str) -> web.Response:
        if digest not in self.repo_blobs.get(repo, set()):
            return _error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        self.repo_blobs[repo].discard(digest)
        return web.Response(status=202)

    async def _uploads_post(self, request: web.Request, repo: str, uuid: str) -> web.Response:
        mount, source = request.query.get("mount"), request.query.get("from")
        if mount and source and mount in self.repo_blobs.get(source, set()):
            self.repo_blobs.setdefault(repo, set()).add(mount)
            return web.Response(status=201, headers={"Location": f"/v2/{repo}/blobs/{mount}"})
        await request.read()
        new = f"u{next(self._ids)}"
        self.uploads[new] = bytearray()
        return web.Response(status=202, headers=self._upload_headers(repo, new))

    def _upload_headers(self, repo: str, uuid: str) -> dict[str, str]:
        size = len(self.uploads[uuid])
        return {
            "Location": f"/v2/{repo}/blobs/uploads/{uuid}?_state=s{size}%3D",
            "Range": f"0-{max(size - 1, 0)}",
            "Docker-Upload-UUID": uuid,
        }

    async def _uploads_patch(self, request: web.Request, repo: str, uuid: str) -> web.Response:
        upload = self.uploads.get(uuid)
        if upload is None:
            return _error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        start = int(request.headers.get("Content-Range", f"{len(upload)}-").split("-")[0])
        if start != len(upload):
            await request.read()
            return _error(416, "BLOB_UPLOAD_INVALID", f"range starts at {start}, upload has {len(upload)}")
        if self.drop_patch_after is not None:
            keep, self.drop_patch_after = self.drop_patch_after, None
            upload += await request.content.readexactly(keep)
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=202)
        upload += await request.read()
        return web.Response(status=202, headers=self._upload_headers(repo, uuid))

    async def _uploads_get(self, request: web.Request, repo: str, uuid: str) -> web.Response:
        if uuid not in self.uploads:
            return _error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        if self.refuse_resume:
            del self.uploads[uuid]
            return _error(400, "BLOB_UPLOAD_INVALID", "blob upload invalid")
        return web.Response(status=204, headers=self._upload_headers(repo, uuid))

    async def _uploads_delete(self, request: web.Request, repo: str, uuid: str) -> web.Response:
        self.uploads.pop(uuid, None)
        return web.Response(status=204)

    async def _uploads_put(self, request: web.Request, repo: str, uuid: str) -> web.Response:
        upload = self.uploads.get(uuid)
        if upload is None:
            return _error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        upload += await request.read()
        digest = request.query.get("digest", "")
        if _digest(bytes(upload)) != digest:
            return _error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
        del self.uploads[uuid]
        self.add_blob(repo, bytes(upload))
        return web.Response(
            status=201, headers={"Location": f"/v2/{repo}/blobs/{digest}", "Docker-Content-Digest": digest}
        )

    # manifests

    def _resolve(self, repo: str, ref: str) -> str | None:
        digest = ref if ":" in ref else self.tags.get((repo, ref))
        return digest if digest is not None and (repo, digest) in self.manifests else None

    async def _manifest_head(self, request: web.Request, repo: str, ref: str) -> web.Response:
        digest = self._resolve(repo, ref)
        if digest is None:
            return web.Response(status=404)
        media_type, raw = self.manifests[(repo, digest)]
        headers = {
            "Content-Type": media_type,
            "Docker-Content-Digest": digest,
            "Content-Length": str(len(raw)),
        }
        return web.Response(headers=headers)

    async def _manifest_get(self, request: web.Request, repo: str, ref: str) -> web.Response:
        digest = self._resolve(repo, ref)
        if digest is None:
            return _error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        media_type, raw = self.manifests[(repo, digest)]
        return web.Response(body=raw, headers={"Content-Type": media_type, "Docker-Content-Digest": digest})

    async def _manifest_put(self, request: web.Request, repo: str, ref: str) -> web.Response:
        raw = await request.read()
        digest = _digest(raw)
        if ":" not in ref and self.immutable_tags:
            current = self.tags.get((repo, ref))
            if current is not None and current != digest:
                message = (
                    f"tag {repo}:{ref} is immutable: it points to {current} and cannot be moved to {digest}"
                )
                return _error(400, "TAG_INVALID", message)
        doc = json.loads(raw)
        for d in [doc.get("config"), *doc.get("layers", [])]:
            if d and d["digest"] not in self.repo_blobs.get(repo, set()):
                return _error(400, "MANIFEST_BLOB_UNKNOWN", f"blob unknown to registry: {d['digest']}")
        self.manifests[(repo, digest)] = (request.headers["Content-Type"], raw)
        if ":" not in ref:
            self.tags[(repo, ref)] = digest
        headers = {"Docker-Content-Digest": digest, "Location": f"/v2/{repo}/manifests/{digest}"}
        if "subject" in doc and self.referrers_api:
            headers["OCI-Subject"] = doc["subject"]["digest"]
        return web.Response(status=201, headers=headers)

    async def _manifest_delete(self, request: web.Request, repo: str, ref: str) -> web.Response:
        if (repo, ref) not in self.manifests:
            return _error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        del self.manifests[(repo, ref)]
        self.tags = {k: v for k, v in self.tags.items() if v != ref}
        return web.Response(status=202)

    async def _tags_get(self, request: web.Request, repo: str) -> web.Response:
        names = sorted(t for (r, t) in self.tags if r == repo)
        if not names:
            return _error(404, "NAME_UNKNOWN", f"repository name not known to registry: {repo}")
        last = request.query.get("last")
        if last:
            names = [n for n in names if n > last]
        n = int(request.query.get("n", "1000"))
        page, rest = names[:n], names[n:]
        headers = {}
        if rest:
            headers["Link"] = f'</v2/{repo}/tags/list?n={n}&last={page[-1]}>; rel="next"'
        return web.json_response({"name": repo, "tags": page}, headers=headers)

    async def _referrers_get(self, request: web.Request, repo: str, digest: str) -> web.Response:
        wanted = request.query.get("artifactType")
        found = []
        for (r, d), (media_type, raw) in self.manifests.items():
            doc = json.loads(raw)
            if r != repo or (doc.get("subject") or {}).get("digest") != digest:
                continue
            kind = doc.get("artifactType") or doc["config"]["mediaType"]
            if wanted and kind != wanted:
                continue
            found.append({"mediaType": media_type, "digest": d, "size": len(raw), "artifactType": kind})
        headers = {"OCI-Filters-Applied": "artifactType"} if wanted else {}
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": found,
        }
        return web.json_response(index, headers=headers)


async def serve(fake: FakeRegistry) -> AsyncIterator[FakeRegistry]:
    """Run `fake` on 127.0.0.1 on a free port for the duration of the iteration."""
    runner = web.AppRunner(fake.app(), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.host = f"127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()
