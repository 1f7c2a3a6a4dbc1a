"""order-service: takes orders, checks the caller with auth-service, charges with payment-service (story 3).

POST /orders {"items": [{"sku", "quantity", "priceCents"}]} with `Authorization: Bearer <token>`
     -> 201 {"id", "user", "totalCents", "status": "paid", "paymentId"}
        400 bad items, 401 auth-service refused the token, 402 payment declined, 502 a peer is down
GET  /orders/<id> (the owner only) -> 200 the order, 404 otherwise
GET  /health  200 when ready, 503 while draining;  GET / -> the version string

Peers are called by name through cluster DNS: AUTH_SERVICE_URL (default http://auth-service) and
PAYMENT_SERVICE_URL (default http://payment-service). Readiness does not depend on the peers: a peer that is
down fails the requests that need it (502), it does not take every order-service pod out of the Service.
Standard library only; orders are kept in memory (a demo).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = (Path(__file__).with_name("VERSION")).read_text(encoding="utf-8").strip()
PEER_TIMEOUT_SECONDS = 5.0


class PeerError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def order_total(items: object) -> int:
    """The order's total in cents; ValueError naming the bad item."""
    if not isinstance(items, list) or not items:
        raise ValueError("items must be a non-empty list")
    total = 0
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("sku"):
            raise ValueError(f"items[{i}]: sku is required")
        quantity, price = item.get("quantity"), item.get("priceCents")
        for name, value in (("quantity", quantity), ("priceCents", price)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"items[{i}].{name} must be a positive integer")
        total += quantity * price  # type: ignore[operator]
    return total


def call_peer(url: str, *, body: object = None, token: str | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=PEER_TIMEOUT_SECONDS) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except (OSError, ValueError) as exc:
        raise PeerError(502, f"{url}: {exc}") from None


class Orders:
    def __init__(self, auth_url: str, payment_url: str) -> None:
        self.auth_url = auth_url.rstrip("/")
        self.payment_url = payment_url.rstrip("/")
        self.orders: dict[str, dict[str, object]] = {}

    def user_of(self, token: str) -> str:
        status, body = call_peer(f"{self.auth_url}/verify", token=token)
        if status == 401:
            raise PeerError(401, "auth-service refused the token")
        if status != 200:
            raise PeerError(502, f"auth-service answered {status}")
        return str(body["user"])

    def place(self, token: str, items: object) -> dict[str, object]:
        total = order_total(items)
        user = self.user_of(token)
        order_id = uuid.uuid4().hex[:12]
        status, charge = call_peer(
            f"{self.payment_url}/charges", body={"orderId": order_id, "amountCents": total}
        )
        if status == 402:
            raise PeerError(402, f"payment declined: {charge.get('error')}")
        if status not in (200, 201):
            raise PeerError(502, f"payment-service answered {status}")
        order = {
            "id": order_id,
            "user": user,
            "totalCents": total,
            "status": "paid",
            "paymentId": charge["id"],
        }
        self.orders[order_id] = order
        return order


class Server(ThreadingHTTPServer):
    daemon_threads = False

    def __init__(self, address: tuple[str, int], orders: Orders) -> None:
        super().__init__(address, Handler)
        self.orders = orders
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

    def _token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[7:] if header.startswith("Bearer ") else None

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200 if self.server.ready else 503, "ok\n" if self.server.ready else "draining\n")
        elif self.path == "/":
            self._send(200, VERSION + "\n")
        elif self.path.startswith("/orders/"):
            token = self._token()
            try:
                user = self.server.orders.user_of(token) if token else None
            except PeerError as exc:
                self._send(exc.status, {"error": str(exc)})
                return
            order = self.server.orders.orders.get(self.path.removeprefix("/orders/"))
            if user is None:
                self._send(401, {"error": "a bearer token is required"})
            elif order is None or order["user"] != user:
                self._send(404, {"error": "no such order"})
            else:
                self._send(200, order)
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/orders":
            self._send(404, {"error": "not found"})
            return
        token = self._token()
        if token is None:
            self._send(401, {"error": "a bearer token is required"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            order = self.server.orders.place(token, body.get("items") if isinstance(body, dict) else None)
        except PeerError as exc:
            self._send(exc.status, {"error": str(exc)})
        except ValueError as exc:
            self._send(400, {"error": str(exc)})
        else:
            self._send(201, order)


def main() -> None:
    orders = Orders(
        os.environ.get("AUTH_SERVICE_URL", "http://auth-service"),
        os.environ.get("PAYMENT_SERVICE_URL", "http://payment-service"),
    )
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "3000"))), orders)

    def drain(signum: int, frame: object) -> None:
        server.ready = False
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, drain)
    print(f"order-service {VERSION} listening on :{server.server_address[1]}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
