"""auth-service: issues and verifies bearer tokens for the shop (SCENARIOS story 3).

POST /login {"user", "password"} -> 200 {"token"} (401 on bad credentials)
GET  /verify  with `Authorization: Bearer <token>` -> 200 {"user"} (401 otherwise)
GET  /health  200 when ready, 503 while draining;  GET / -> the version string

A token is `<user>.<hex HMAC-SHA256(secret, user)>`: stateless, so any replica verifies any token.
Users come from AUTH_USERS ("alice:secret,bob:hunter2"), the key from AUTH_SECRET. Standard library only.
SIGTERM: stop being ready, finish in-flight requests, exit 0.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = (Path(__file__).with_name("VERSION")).read_text(encoding="utf-8").strip()


class Auth:
    def __init__(self, users: dict[str, str], secret: bytes) -> None:
        self.users = users
        self.secret = secret

    def _sign(self, user: str) -> str:
        return hmac.new(self.secret, user.encode(), hashlib.sha256).hexdigest()

    def login(self, user: str, password: str) -> str | None:
        expected = self.users.get(user)
        if expected is None or not hmac.compare_digest(expected, password):
            return None
        return f"{user}.{self._sign(user)}"

    def verify(self, token: str) -> str | None:
        user, _, signature = token.rpartition(".")
        if not user or not hmac.compare_digest(signature, self._sign(user)):
            return None
        return user


def parse_users(text: str) -> dict[str, str]:
    users = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        user, sep, password = pair.partition(":")
        if not sep or not user:
            raise ValueError(f"AUTH_USERS: {pair!r} must be user:password")
        users[user] = password
    return users


class Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for in-flight requests

    def __init__(self, address: tuple[str, int], auth: Auth) -> None:
        super().__init__(address, Handler)
        self.auth = auth
        self.ready = True


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: object) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200 if self.server.ready else 503, "ok\n" if self.server.ready else "draining\n")
        elif self.path == "/":
            self._send(200, VERSION + "\n")
        elif self.path == "/verify":
            header = self.headers.get("Authorization", "")
            user = self.server.auth.verify(header[7:]) if header.startswith("Bearer ") else None
            if user is None:
                self._send(401, {"error": "invalid or missing bearer token"})
            else:
                self._send(200, {"user": user})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/login":
            self._send(404, {"error": "not found"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            user, password = str(body["user"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            self._send(400, {"error": 'body must be {"user": ..., "password": ...}'})
            return
        token = self.server.auth.login(user, password)
        if token is None:
            self._send(401, {"error": "bad user or password"})
        else:
            self._send(200, {"token": token})


def main() -> None:
    auth = Auth(
        parse_users(os.environ.get("AUTH_USERS", "demo:demo")), os.environ.get("AUTH_SECRET", "dev").encode()
    )
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "3000"))), auth)

    def drain(signum: int, frame: object) -> None:
        server.ready = False
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, drain)
    print(f"auth-service {VERSION} listening on :{server.server_address[1]}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
