"""The webhook: ``POST /hooks/git`` asks the reconciler for a tick now instead of at the next interval.

Accepted bodies: a GitHub or Gitea ``push`` payload (JSON, or GitHub's form encoding ``payload=<json>``), or
an empty POST (``curl -X POST http://127.0.0.1:8089/hooks/git`` from a git ``post-receive`` hook). The payload
is used for the log line only (``ref``, ``after``, the pusher); what gets synced is always decided by the
tick from the config repo itself — a webhook is a hint, never a source of truth, so a forged or stale one can
at worst cause an extra refresh. ``ping`` events (GitHub's ``X-GitHub-Event: ping``) are answered and ignored.

When a secret is configured (``FERRY_WEBHOOK_SECRET``), a request must carry a valid HMAC-SHA256 of its body:
``X-Hub-Signature-256: sha256=<hex>`` (GitHub) or ``X-Gitea-Signature: <hex>`` (Gitea); others get 401.

Answers: ``202 {"accepted": true, "after": "<sha or null>"}``; 400 for a body that is not JSON; 401 for a bad
signature. ``GET /healthz`` answers ``ok``. The server binds where it is told (default 127.0.0.1 only).

Race: many pushes in a burst set the same trigger event; the loop runs one tick for all of them (and one more
if a push arrives while a tick runs), which is the debouncing a push storm needs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

__all__ = ["HOOK_PATH", "Webhook", "parse_listen"]

HOOK_PATH = "/hooks/git"
log = logging.getLogger("ferry.reconcile")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, meaning 127.0.0.1) → (host, port); a ValueError naming the problem."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--webhook {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8089")
    return host or "127.0.0.1", int(port)


def _signed(secret: str, body: bytes, headers: Any) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    github = str(headers.get("X-Hub-Signature-256") or "")
    gitea = str(headers.get("X-Gitea-Signature") or "")
    return hmac.compare_digest(github, f"sha256={expected}") or hmac.compare_digest(gitea, expected)


def _payload(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The push payload, ``{}`` for an empty body, None when it cannot be read."""
    if not body.strip():
        return {}
    text = body.decode("utf-8", "replace")
    if content_type == "application/x-www-form-urlencoded" and text.startswith("payload="):
        text = (parse_qs(text).get("payload") or [""])[0]
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Webhook:
    """An aiohttp server calling ``on_push(description)`` for every accepted POST."""

    def __init__(self, on_push: Callable[[str], None], *, secret: str | None = None) -> None:
        self.on_push = on_push
        self.secret = secret
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> str:
        app = web.Application()
        app.router.add_post(HOOK_PATH, self._hook)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{host}:{bound}{HOOK_PATH}"
        log.info("webhook listening on %s", self.url)
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.secret and not _signed(self.secret, body, request.headers):
            log.warning("webhook: rejected a request with a missing or wrong signature")
            return web.json_response({"error": "bad or missing signature"}, status=401)
        event = request.headers.get("X-GitHub-Event") or request.headers.get("X-Gitea-Event") or ""
        if event == "ping":
            return web.json_response({"pong": True})
        payload = _payload(body, request.content_type)
        if payload is None:
            return web.json_response({"error": "the body is not a JSON push payload"}, status=400)
        after = payload.get("after") if isinstance(payload.get("after"), str) else None
        ref = payload.get("ref") if isinstance(payload.get("ref"), str) else None
        pusher: dict[str, Any] = payload["pusher"] if isinstance(payload.get("pusher"), dict) else {}
        who = str(pusher.get("name") or pusher.get("login") or pusher.get("username") or "")
        parts = [f"push to {ref}" if ref else "empty POST" if not payload else "push"]
        if after:
            parts.append(f"after {after[:7]}")
        if who:
            parts.append(f"by {who}")
        description = " ".join(parts)
        log.info("webhook: %s; refreshing now", description)
        self.on_push(description)
        return web.json_response({"accepted": True, "after": after}, status=202)
