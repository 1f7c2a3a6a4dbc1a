"""payment-service: captures payments for orders (SCENARIOS story 3).

POST /charges {"orderId", "amountCents"} -> 201 the charge (400 bad input, 402 over the limit)
GET  /charges/<id>                       -> 200 the charge, 404 unknown
GET  /health  200 when ready, 503 while draining;  GET / -> the version string

A charge is idempotent per orderId: charging the same order twice returns the first charge, so a retried
request from order-service never takes the money twice. Charges above PAYMENT_LIMIT_CENTS are declined.
In memory (a demo): one replica's charges are not seen by another. Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VERSION = (Path(__file__).with_name("VERSION")).read_text(encoding="utf-8").strip()


class Declined(Exception):
    pass


class Ledger:
    def __init__(self, limit_cents: int) -> None:
        self.limit_cents = limit_cents
        self.charges: dict[str, dict[str, object]] = {}
        self.by_order: dict[str, str] = {}
        self.lock = threading.Lock()

    def charge(self, order_id: str, amount_cents: int) -> tuple[dict[str, object], bool]:
        """(the charge, created?); raises ValueError on bad input and Declined over the limit."""
        if not order_id:
            raise ValueError("orderId must not be empty")
        if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
            raise ValueError("amountCents must be a positive integer")
        if amount_cents > self.limit_cents:
            raise Declined(f"amount {amount_cents} is over the limit of {self.limit_cents}")
        with self.lock:
            existing = self.by_order.get(order_id)
            if existing is not None:
                return self.charges[existing], False
            charge = {
                "id": uuid.uuid4().hex[:12],
                "orderId": order_id,
                "amountCents": amount_cents,
                "status": "captured",
            }
            self.charges[str(charge["id"])] = charge
            self.by_order[order_id] = str(charge["id"])
            return charge, True


class Server(ThreadingHTTPServer):
    daemon_threads = False

    def __init__(self, address: tuple[str, int], ledger: Ledger) -> None:
        super().__init__(address, Handler)
        self.ledger = ledger
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
        elif self.path.startswith("/charges/"):
            charge = self.server.ledger.charges.get(self.path.removeprefix("/charges/"))
            self._send(200, charge) if charge else self._send(404, {"error": "no such charge"})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/charges":
            self._send(404, {"error": "not found"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            charge, created = self.server.ledger.charge(str(body.get("orderId", "")), body.get("amountCents"))
        except Declined as exc:
            self._send(402, {"error": str(exc)})
        except (ValueError, AttributeError) as exc:
            self._send(400, {"error": str(exc)})
        else:
            self._send(201 if created else 200, charge)


def main() -> None:
    ledger = Ledger(int(os.environ.get("PAYMENT_LIMIT_CENTS", "100000")))
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "3000"))), ledger)

    def drain(signum: int, frame: object) -> None:
        server.ready = False
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, drain)
    print(f"payment-service {VERSION} listening on :{server.server_address[1]}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
