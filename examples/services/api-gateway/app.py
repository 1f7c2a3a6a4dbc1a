"""api-gateway: the shop's one public entry point; the Ingress routes outside traffic here (story 3).

Routes (prefix → peer, the prefix replaced):
    /api/login     → AUTH_SERVICE_URL  (default http://auth-service)   /login
    /api/orders... → ORDER_SERVICE_URL (default http://order-service)  /orders...
GET /health  200 when ready, 503 while draining;  GET / -> the version string

The gateway forwards the method, body, Content-Type and Authorization, and answers the peer's status and
body unchanged; a peer that cannot be reached is 502 with its name. Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = (Path(__file__).with_name("VERSION")).read_text(encoding="utf-8").strip()
PEER_TIMEOUT_SECONDS = 10.0
FORWARDED_HEADERS = ("Authorization", "Content-Type")


def route(path: str, routes: dict[str, str]) -> str | None:
    """The peer URL for a public path, or None. `routes` maps a public prefix to a peer base URL."""
    for prefix, target in sorted(routes.items(), key=lambda kv: -len(kv[0])):
        if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "?"):
            return target.rstrip("/") + path[len(prefix) :]
    return None


def default_routes() -> dict[str, str]:
    auth = os.environ.get("AUTH_SERVICE_URL", "http://auth-service").rstrip("/")
    orders = os.environ.get("ORDER_SERVICE_URL", "http://order-service").rstrip("/")
    return {"/api/login": f"{auth}/login", "/api/orders": f"{orders}/orders"}


class Server(ThreadingHTTPServer):
    daemon_threads = False

    def __init__(self, address: tuple[str, int], routes: dict[str, str]) -> None:
        super().__init__(address, Handler)
        self.routes = routes
        self.ready = True


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _proxy(self) -> None:
        if self.command == "GET" and self.path in ("/health", "/"):
            ready = self.server.ready
            text = VERSION if self.path == "/" else ("ok" if ready else "draining")
            self._send(200 if ready or self.path == "/" else 503, f"{text}\n".encode(), "text/plain")
            return
        target = route(self.path, self.server.routes)
        if target is None:
            self._send(404, b'{"error": "not found"}', "application/json")
            return
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else None
        request = urllib.request.Request(target, data=body, method=self.command)
        for name in FORWARDED_HEADERS:
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        try:
            with urllib.request.urlopen(request, timeout=PEER_TIMEOUT_SECONDS) as response:
                status, data = response.status, response.read()
                content_type = response.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as error:
            status, data = error.code, error.read()
            content_type = error.headers.get("Content-Type", "application/json")
        except OSError as exc:
            status, content_type = 502, "application/json"
            data = json.dumps({"error": f"{target}: {exc}"}).encode()
        self._send(status, data, content_type)

    do_GET = do_POST = do_PUT = do_DELETE = _proxy


def main() -> None:
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "3000"))), default_routes())

    def drain(signum: int, frame: object) -> None:
        server.ready = False
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, drain)
    print(f"api-gateway {VERSION} listening on :{server.server_address[1]}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
