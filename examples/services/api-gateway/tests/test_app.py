from __future__ import annotations

import json
import threading
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import app


class Echo(BaseHTTPRequestHandler):
    """A peer that answers what it received."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = {
            "method": self.command,
            "path": self.path,
            "auth": self.headers.get("Authorization"),
            "body": self.rfile.read(length).decode() if length else None,
        }
        data = json.dumps(body).encode()
        self.send_response(418 if self.path.endswith("/teapot") else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _echo


class RouteTest(unittest.TestCase):
    def test_longest_prefix_on_component_boundaries(self) -> None:
        routes = {"/api/orders": "http://order-service/orders", "/api": "http://other"}
        self.assertEqual(app.route("/api/orders/42", routes), "http://order-service/orders/42")
        self.assertEqual(app.route("/api/orders", routes), "http://order-service/orders")
        self.assertEqual(app.route("/api/ordersX", routes), "http://other/ordersX")
        self.assertIsNone(app.route("/elsewhere", routes))


class GatewayHttpTest(unittest.TestCase):
    def setUp(self) -> None:
        self.peer = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        peer_url = f"http://127.0.0.1:{self.peer.server_address[1]}"
        self.server = app.Server(
            ("127.0.0.1", 0), {"/api/orders": f"{peer_url}/orders", "/api/down": "http://127.0.0.1:9"}
        )
        self.threads = [
            threading.Thread(target=s.serve_forever, args=(0.05,)) for s in (self.peer, self.server)
        ]
        for thread in self.threads:
            thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self) -> None:
        for server in (self.server, self.peer):
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join()

    def call(self, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base + path, data=body)
        request.add_header("Authorization", "Bearer t0k")
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def test_forwards_method_path_body_and_token(self) -> None:
        status, data = self.call("/api/orders/7", b'{"x": 1}')
        self.assertEqual(status, 200)
        self.assertEqual(
            json.loads(data),
            {"method": "POST", "path": "/orders/7", "auth": "Bearer t0k", "body": '{"x": 1}'},
        )

    def test_peer_status_is_kept_and_a_down_peer_is_502(self) -> None:
        self.assertEqual(self.call("/api/orders/teapot")[0], 418)
        status, data = self.call("/api/down")
        self.assertEqual(status, 502)
        self.assertIn(b"127.0.0.1:9", data)
        self.assertEqual(self.call("/nowhere")[0], 404)

    def test_health_and_version(self) -> None:
        self.assertEqual(self.call("/health"), (200, b"ok\n"))
        self.assertEqual(self.call("/"), (200, f"{app.VERSION}\n".encode()))


if __name__ == "__main__":
    unittest.main()
