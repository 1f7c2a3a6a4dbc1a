from __future__ import annotations

import json
import threading
import unittest
import urllib.error
import urllib.request

import app


class LedgerTest(unittest.TestCase):
    def test_charge_is_idempotent_per_order(self) -> None:
        ledger = app.Ledger(limit_cents=1000)
        first, created = ledger.charge("o-1", 250)
        again, created_again = ledger.charge("o-1", 250)
        self.assertTrue(created)
        self.assertFalse(created_again)
        self.assertEqual(first["id"], again["id"])
        self.assertEqual(len(ledger.charges), 1)

    def test_bad_amounts_and_limit(self) -> None:
        ledger = app.Ledger(limit_cents=1000)
        for amount in (0, -5, "12", True, None):
            with self.assertRaises(ValueError):
                ledger.charge("o-1", amount)  # type: ignore[arg-type]
        with self.assertRaises(app.Declined):
            ledger.charge("o-2", 1001)


class HttpTest(unittest.TestCase):
    def setUp(self) -> None:
        self.server = app.Server(("127.0.0.1", 0), app.Ledger(limit_cents=1000))
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def call(self, path: str, body: object = None) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(self.base + path, data=data)) as response:
                raw, status = response.read().decode(), response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read().decode(), error.code
        return status, json.loads(raw) if raw.startswith("{") else raw

    def test_charge_and_read_back(self) -> None:
        status, charge = self.call("/charges", {"orderId": "o-9", "amountCents": 500})
        self.assertEqual(status, 201)
        self.assertEqual(charge["status"], "captured")
        self.assertEqual(self.call(f"/charges/{charge['id']}"), (200, charge))

    def test_errors(self) -> None:
        self.assertEqual(self.call("/charges", {"orderId": "o-1", "amountCents": 0})[0], 400)
        self.assertEqual(self.call("/charges", {"orderId": "o-1", "amountCents": 5000})[0], 402)
        self.assertEqual(self.call("/charges/nope")[0], 404)

    def test_health_and_version(self) -> None:
        self.assertEqual(self.call("/health"), (200, "ok\n"))
        self.assertEqual(self.call("/"), (200, app.VERSION + "\n"))


if __name__ == "__main__":
    unittest.main()
