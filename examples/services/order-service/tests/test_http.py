"""order-service over HTTP, with auth-service and payment-service played by small in-test servers."""

from __future__ import annotations

import json
import threading
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import app


class FakePeers(BaseHTTPRequestHandler):
    charges: list[dict[str, object]] = []
    decline = False

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # auth-service /verify
        if self.headers.get("Authorization") == "Bearer good":
            self._send(200, {"user": "alice"})
        else:
            self._send(401, {"error": "bad token"})

    def do_POST(self) -> None:  # payment-service /charges
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if FakePeers.decline:
            self._send(402, {"error": "over the limit"})
            return
        FakePeers.charges.append(body)
        self._send(201, {"id": "ch-1", **body, "status": "captured"})


def serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,))
    thread.start()
    return thread


class OrderServiceHttpTest(unittest.TestCase):
    def setUp(self) -> None:
        FakePeers.charges = []
        FakePeers.decline = False
        self.peers = ThreadingHTTPServer(("127.0.0.1", 0), FakePeers)
        peers_url = f"http://127.0.0.1:{self.peers.server_address[1]}"
        self.server = app.Server(("127.0.0.1", 0), app.Orders(peers_url, peers_url))
        self.threads = [serve(self.peers), serve(self.server)]
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self) -> None:
        for server in (self.server, self.peers):
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join()

    def call(
        self, path: str, body: object = None, token: str | None = "good"
    ) -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(
            self.base + path, data=None if body is None else json.dumps(body).encode()
        )
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def test_order_is_charged_and_readable_by_its_owner(self) -> None:
        status, order = self.call("/orders", {"items": [{"sku": "tea", "quantity": 3, "priceCents": 200}]})
        self.assertEqual(status, 201)
        self.assertEqual((order["user"], order["totalCents"], order["status"]), ("alice", 600, "paid"))
        self.assertEqual(FakePeers.charges, [{"orderId": order["id"], "amountCents": 600}])
        self.assertEqual(self.call(f"/orders/{order['id']}"), (200, order))

    def test_refused_token_declined_payment_and_bad_items(self) -> None:
        items = {"items": [{"sku": "tea", "quantity": 1, "priceCents": 200}]}
        self.assertEqual(self.call("/orders", items, token="forged")[0], 401)
        self.assertEqual(self.call("/orders", items, token=None)[0], 401)
        self.assertEqual(self.call("/orders", {"items": []})[0], 400)
        FakePeers.decline = True
        self.assertEqual(self.call("/orders", items)[0], 402)
        self.assertEqual(FakePeers.charges, [])

    def test_a_peer_that_is_down_is_502(self) -> None:
        self.server.orders.payment_url = "http://127.0.0.1:9"
        status, body = self.call("/orders", {"items": [{"sku": "tea", "quantity": 1, "priceCents": 200}]})
        self.assertEqual(status, 502)
        self.assertIn("127.0.0.1:9", str(body["error"]))


if __name__ == "__main__":
    unittest.main()
