from __future__ import annotations

import json
import threading
import unittest
import urllib.error
import urllib.request

import app


class AuthServiceTest(unittest.TestCase):
    def setUp(self) -> None:
        self.server = app.Server(("127.0.0.1", 0), app.Auth({"alice": "s3cret"}, b"key"))
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def call(self, path: str, body: object = None, token: str | None = None) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request) as response:
                raw = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read().decode(), error.code
        return status, json.loads(raw) if raw.startswith("{") else raw

    def test_login_then_verify(self) -> None:
        status, body = self.call("/login", {"user": "alice", "password": "s3cret"})
        self.assertEqual(status, 200)
        self.assertEqual(self.call("/verify", token=body["token"]), (200, {"user": "alice"}))

    def test_bad_password_and_forged_token_are_401(self) -> None:
        self.assertEqual(self.call("/login", {"user": "alice", "password": "nope"})[0], 401)
        self.assertEqual(self.call("/verify", token="alice.0000")[0], 401)
        self.assertEqual(self.call("/verify")[0], 401)

    def test_health_and_version(self) -> None:
        self.assertEqual(self.call("/health"), (200, "ok\n"))
        self.assertEqual(self.call("/"), (200, app.VERSION + "\n"))

    def test_parse_users(self) -> None:
        self.assertEqual(app.parse_users("a:1, b:2"), {"a": "1", "b": "2"})
        with self.assertRaises(ValueError):
            app.parse_users("nopassword")


if __name__ == "__main__":
    unittest.main()
